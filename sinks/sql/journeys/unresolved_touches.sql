-- Touches no account journey holds: waiting for identity (an anonymous visitor not identified yet,
-- an e-mail whose company domain no touch has tied to an account yet) or never resolvable (free
-- mail only). Identity calls and touches too late to place (late_touches) are not counted here.
-- key: source, event_id
with source_touches as (
    select * from {{ ref('touches') }}
),

placed as (
    select source, event_id from {{ ref('journey_touches') }}
    union all
    select source, event_id from {{ ref('late_touches') }}
),

final as (
    select source_touches.*
    from source_touches
    anti join placed using (source, event_id)
    where source_touches.event_type not in ('identify', 'group')
)

select * from final
