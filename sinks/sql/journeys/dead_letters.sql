-- The lake's dead_letters, one row per key.
with dead_letters as (
    select * from stg_dead_letters
),

final as (
    select *
    from dead_letters
)

select * from final
