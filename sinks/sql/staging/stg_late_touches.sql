-- The lake's late_touches: its Delta table's current version (which holds one row per key).
select * from {{ lake.late_touches }}
