-- The lake's touches, one row per key, without the landing bookkeeping.
with touches as (
    select * from stg_touches
),

final as (
    select * exclude (_partition, _offset)
    from touches
)

select * from final
