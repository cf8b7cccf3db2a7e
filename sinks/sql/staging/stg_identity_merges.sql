-- The lake's identity_merges: its Delta table's current version (which holds one row per key).
select * from {{ lake.identity_merges }}
