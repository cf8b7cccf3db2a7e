-- The lake's dead_letters, one row per key, without the landing bookkeeping.
with dead_letters as (
    select * from stg_dead_letters
),

final as (
    select * exclude (_partition, _offset)
    from dead_letters
)

select * from final
