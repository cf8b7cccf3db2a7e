-- The lake's dead_letters: its Delta table's current version (which holds one row per key).
select * from {{ lake.dead_letters }}
