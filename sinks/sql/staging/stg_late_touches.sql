-- The lake's late_touches: its Delta table's current version (which holds one row per key).
-- key: source, event_id
select * from {{ lake.late_touches }}
