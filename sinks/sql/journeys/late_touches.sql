-- The lake's late_touches, one row per key, without the landing bookkeeping.
with late_touches as (
    select * from stg_late_touches
),

final as (
    select * exclude (_partition, _offset)
    from late_touches
)

select * from final
