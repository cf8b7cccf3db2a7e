-- One row per conversion × touch × rule-based model: the touch's share of the conversion
-- (credit, summing to 1 per conversion and model) and of its revenue and pipeline, in the
-- conversion's currency (never summed across currencies).
-- Milestone models: see macros/milestone_credit.sql. time_decay halves a touch's weight every
-- touchline_half_life_days [7] before the conversion.
-- key: conversion_id, model, source, event_id
with attribution_rows as (
    select * from {{ ref('attribution_touches') }}
),

ranked as (
    select
        *,
        max(case when is_lead then touch_rank end) over conversion as lead_rank,
        max(case when is_opportunity then touch_rank end) over conversion as opportunity_rank,
        case when conversion_type in ('closed_won', 'renewal') then touch_count end as close_rank,
        pow(0.5, days_before_conversion / coalesce(getvariable('touchline_half_life_days'), 7)) as decay,
        sum(pow(0.5, days_before_conversion / coalesce(getvariable('touchline_half_life_days'), 7)))
            over conversion as total_decay
    from attribution_rows
    window conversion as (partition by conversion_type, conversion_id)
),

wide as (
    select
        -- ids
        conversion_id, conversion_type, event_id, source, account_id,
        -- the touch
        occurred_at, channel, campaign_id, event_type, team, stage, content_id, subchannel, revenue, pipeline, currency,
        -- one column per model
        case when touch_rank = 1 then 1.0 else 0.0 end as first_touch,
        case when touch_rank = touch_count then 1.0 else 0.0 end as last_touch,
        1.0 / touch_count as linear,
        decay / total_decay as time_decay,
        milestone_credit(touch_rank, touch_count, lead_rank, opportunity_rank, close_rank,
                         0.4, 0.4, 0.0, 0.0, 0.0, 0.2, false) as position_based,
        milestone_credit(touch_rank, touch_count, lead_rank, opportunity_rank, close_rank,
                         0.4, 0.0, 0.4, 0.0, 0.0, 0.2, true) as u_shaped,
        milestone_credit(touch_rank, touch_count, lead_rank, opportunity_rank, close_rank,
                         0.3, 0.0, 0.3, 0.3, 0.0, 0.1, false) as w_shaped,
        milestone_credit(touch_rank, touch_count, lead_rank, opportunity_rank, close_rank,
                         0.225, 0.0, 0.225, 0.225, 0.225, 0.1, false) as full_path
    from ranked
),

long as (
    unpivot wide
    on first_touch, last_touch, linear, time_decay, position_based, u_shaped, w_shaped, full_path
    into name model value credit
),

final as (
    select
        -- ids
        conversion_id, conversion_type, model, event_id, source, account_id,
        -- the touch
        occurred_at, channel, campaign_id, event_type, team, stage, content_id, subchannel,
        -- credit
        credit,
        credit * revenue as revenue_credit,
        credit * pipeline as pipeline_credit,
        currency
    from long
    where credit > 0
)

select * from final
