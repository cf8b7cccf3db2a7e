-- One row per conversion × eligible touch in its lookback window (attribution_settings),
-- with the touch's position and the milestones it holds.
-- key: conversion_id, source, event_id
with source_conversions as (
    select * from {{ ref('conversions') }}
),

source_journey_touches as (
    select * from {{ ref('journey_touches') }}
),

settings as (
    select * from {{ ref('attribution_settings') }}
),

windowed as (
    select
        source_conversions.conversion_id,
        source_conversions.conversion_type,
        source_conversions.converted_at,
        source_conversions.opportunity_created_at,
        source_conversions.revenue,
        source_conversions.pipeline,
        source_conversions.currency,
        source_journey_touches.event_id,
        source_journey_touches.source,
        source_journey_touches.account_id,
        source_journey_touches.occurred_at,
        source_journey_touches.seq,
        source_journey_touches.is_lead_touch,
        source_journey_touches.channel,
        source_journey_touches.campaign_id,
        source_journey_touches.event_type,
        source_journey_touches.team,
        source_journey_touches.stage,
        source_journey_touches.content_id,
        source_journey_touches.subchannel
    from source_conversions
    cross join settings
    inner join source_journey_touches
        on source_journey_touches.account_id = source_conversions.account_id
        and source_journey_touches.occurred_at <= source_conversions.converted_at
        and source_journey_touches.occurred_at >= source_conversions.converted_at - to_days(cast(settings.lookback_days as integer))
        and not list_contains(settings.excluded_types, source_journey_touches.event_type)
    where settings.only_conversion_type is null or source_conversions.conversion_type = settings.only_conversion_type
),

positioned as (
    select
        *,
        row_number() over conversion_touches as touch_rank,
        count(*) over (partition by conversion_type, conversion_id) as touch_count,
        max(case when is_lead_touch then seq end) over (partition by conversion_type, conversion_id) as lead_seq,
        max(case when occurred_at <= opportunity_created_at then seq end) over (partition by conversion_type, conversion_id)
            as opportunity_seq
    from windowed
    window conversion_touches as (partition by conversion_type, conversion_id order by occurred_at, seq)
),

final as (
    select
        *,
        touch_rank = 1 as is_first,
        touch_rank = touch_count as is_last,
        seq = lead_seq as is_lead,
        seq = opportunity_seq as is_opportunity,
        conversion_type in ('closed_won', 'renewal') and touch_rank = touch_count as is_close,
        lead_seq is null or seq < lead_seq as is_before_lead,
        date_diff('second', occurred_at, converted_at) / 86400.0 as days_before_conversion
    from positioned
)

select * from final
