-- The lake's sla_breaches: the latest version of each (lead_event_id).
with source as (
    select * from {{ lake.sla_breaches }}
),

final as (
    select *
    from source
    qualify row_number() over (partition by lead_event_id order by _partition desc, _offset desc) = 1
)

select * from final
