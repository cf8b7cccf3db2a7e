-- The lake's dead_letters: its Delta table's current version (which holds one row per key).
-- key: source_topic, source_partition, source_offset
select * from {{ lake.dead_letters }}
