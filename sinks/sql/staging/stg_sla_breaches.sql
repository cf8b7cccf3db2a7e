-- The lake's sla_breaches: its Delta table's current version (which holds one row per key).
-- key: lead_event_id
select * from {{ lake.sla_breaches }}
