-- The lake's late_touches, one row per key.
with late_touches as (
    select * from stg_late_touches
),

final as (
    select *
    from late_touches
)

select * from final
