-- The lake's alerts: its Delta table's current version (which holds one row per key).
-- key: alert_id
select * from {{ lake.alerts }}
