-- The lake's sla_breaches: its Delta table's current version (which holds one row per key).
select * from {{ lake.sla_breaches }}
