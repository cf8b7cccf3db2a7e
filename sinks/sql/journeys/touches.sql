-- The lake's touches, one row per key.
-- key: source, event_id
with touches as (
    select * from {{ ref('stg_touches') }}
),

final as (
    select *
    from touches
)

select * from final
