-- The paths of the data-driven models: one row per conversion (converted) and one per
-- account cycle that ended without a conversion of that type (not converted), with the
-- ordered steps inside the lookback window. A step is the touch's value of the dimension in
-- the variable touchline_path_dimension [channel]: channel, campaign_id, event_type, team, stage.
-- key: conversion_type, path_id
with touches as (
    select * from {{ ref('attribution_touches') }}
),

journey_rows as (
    select * from {{ ref('journey_touches') }}
),

settings as (
    select *, coalesce(getvariable('touchline_path_dimension'), 'channel') as dimension
    from {{ ref('attribution_settings') }}
),

types as (
    select conversion_type
    from (select unnest(['lead', 'opportunity', 'closed_won', 'renewal']) as conversion_type)
    cross join (select only_conversion_type as wanted from settings)
    where wanted is null or conversion_type = wanted
),

converting_steps as (
    select
        touches.conversion_type,
        touches.conversion_id,
        touches.revenue,
        touches.pipeline,
        touches.currency,
        touches.touch_rank,
        dimension_value(settings.dimension, touches.channel, touches.campaign_id, touches.event_type,
                        touches.team, touches.stage, touches.content_id,
                        subchannel := touches.subchannel) as step
    from touches
    cross join settings
),

converted as (
    select
        conversion_type,
        conversion_id as path_id,
        true as is_converted,
        max(revenue) as revenue,
        max(pipeline) as pipeline,
        any_value(currency) as currency,
        list(coalesce(step, 'unknown') order by touch_rank) as steps
    from converting_steps
    group by conversion_type, conversion_id
),

converting_cycles as (
    select distinct conversion_type, account_id, cycle from {{ ref('conversions') }}
),

other_steps as (
    select
        types.conversion_type,
        journey_rows.account_id,
        journey_rows.cycle,
        journey_rows.occurred_at,
        journey_rows.seq,
        journey_rows.event_type,
        max(journey_rows.occurred_at) over (partition by journey_rows.account_id, journey_rows.cycle)
            as cycle_ended_at,
        dimension_value(settings.dimension, journey_rows.channel, journey_rows.campaign_id,
                        journey_rows.event_type, journey_rows.team, journey_rows.stage, journey_rows.content_id,
                        subchannel := journey_rows.subchannel) as step
    from journey_rows
    cross join types
    cross join settings
    anti join converting_cycles
        on converting_cycles.conversion_type = types.conversion_type
        and converting_cycles.account_id = journey_rows.account_id
        and converting_cycles.cycle = journey_rows.cycle
),

not_converted as (
    select
        conversion_type,
        conversion_type || ':none:' || account_id || ':' || cycle as path_id,
        false as is_converted,
        0.0 as revenue,
        0.0 as pipeline,
        cast(null as varchar) as currency,
        list(coalesce(step, 'unknown') order by occurred_at, seq) as steps
    from other_steps
    cross join settings
    where not list_contains(settings.excluded_types, other_steps.event_type)
        and other_steps.occurred_at >= other_steps.cycle_ended_at
            - to_days(cast(settings.lookback_days as integer))
    group by conversion_type, account_id, cycle
),

final as (
    select * from converted
    union all
    select * from not_converted
)

select * from final
