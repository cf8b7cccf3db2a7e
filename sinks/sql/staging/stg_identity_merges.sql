-- The lake's identity_merges: its Delta table's current version (which holds one row per key).
-- key: event_id, merged_identity
select * from {{ lake.identity_merges }}
