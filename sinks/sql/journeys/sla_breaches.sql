-- The lake's sla_breaches, one row per key.
with sla_breaches as (
    select * from stg_sla_breaches
),

final as (
    select *
    from sla_breaches
)

select * from final
