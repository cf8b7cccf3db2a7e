-- The lake's sla_breaches, one row per key.
-- key: lead_event_id
with sla_breaches as (
    select * from {{ ref('stg_sla_breaches') }}
),

final as (
    select *
    from sla_breaches
)

select * from final
