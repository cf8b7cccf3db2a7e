-- The lake's alerts: its Delta table's current version (which holds one row per key).
select * from {{ lake.alerts }}
