"""The lake (Delta tables), the DuckDB catalog over it, and what the reports read from it."""
