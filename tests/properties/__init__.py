"""Property, fuzz and ground-truth tests: many generated inputs each, so they take seconds; tests/unit stays fast."""
