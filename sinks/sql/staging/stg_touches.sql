-- The lake's touches: its Delta table's current version (which holds one row per key).
-- key: source, event_id
select * from {{ lake.touches }}
