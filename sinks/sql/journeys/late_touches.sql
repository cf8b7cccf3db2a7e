-- The lake's late_touches, one row per key.
-- key: source, event_id
with late_touches as (
    select * from {{ ref('stg_late_touches') }}
),

final as (
    select *
    from late_touches
)

select * from final
