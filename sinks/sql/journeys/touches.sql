-- The lake's touches, one row per key.
with touches as (
    select * from stg_touches
),

final as (
    select *
    from touches
)

select * from final
