-- The lake's sla_breaches, one row per key, without the landing bookkeeping.
with sla_breaches as (
    select * from stg_sla_breaches
),

final as (
    select * exclude (_partition, _offset)
    from sla_breaches
)

select * from final
