-- The lake's journey_touches: the latest version of each (source, event_id).
with source as (
    select * from {{ lake.journey_touches }}
),

final as (
    select *
    from source
    qualify row_number() over (partition by source, event_id order by _partition desc, _offset desc) = 1
)

select * from final
