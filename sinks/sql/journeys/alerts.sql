-- Every alert the send-alerts stage started: one row per (rule, subject, destination, type).
-- key: alert_id
with alerts as (
    select * from {{ ref('stg_alerts') }}
),

final as (
    select
        -- ids
        alert_id,
        rule,
        type,
        subject,
        account_id,
        lead_event_id,
        destination,
        destination_kind,
        follows,
        -- delivery
        status,
        attempts,
        http_status,
        error,
        -- timestamps
        record_at,
        first_try_at,
        last_try_at,
        latency_seconds
    from alerts
)

select * from final
