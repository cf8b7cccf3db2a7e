-- The paths of the data-driven models: one row per conversion (converted) and one per
-- account cycle that ended without a conversion of that type (not converted), with the
-- ordered touches inside the lookback window. The dimension is chosen at query time.
with touches as (
    select * from attribution_touches
),

journey_rows as (
    select * from journey_touches
),

settings as (
    select * from attribution_settings
),

converted as (
    select
        conversion_type,
        conversion_id as path_id,
        true as is_converted,
        max(revenue) as revenue,
        list(struct_pack(channel, campaign_id, event_type, team, stage) order by touch_rank) as steps
    from touches
    group by conversion_type, conversion_id
),

types as (
    select unnest(['lead', 'opportunity', 'closed_won', 'renewal']) as conversion_type
),

converting_cycles as (
    select distinct conversion_type, account_id, cycle from conversions
),

cycle_ends as (
    select account_id, cycle, max(occurred_at) as ended_at
    from journey_rows
    group by account_id, cycle
),

not_converted as (
    select
        types.conversion_type,
        types.conversion_type || ':none:' || journey_rows.account_id || ':' || journey_rows.cycle as path_id,
        false as is_converted,
        0.0 as revenue,
        list(struct_pack(journey_rows.channel, journey_rows.campaign_id, journey_rows.event_type,
                         journey_rows.team, journey_rows.stage)
             order by journey_rows.occurred_at, journey_rows.seq) as steps
    from journey_rows
    cross join types
    cross join settings
    inner join cycle_ends
        on cycle_ends.account_id = journey_rows.account_id and cycle_ends.cycle = journey_rows.cycle
    anti join converting_cycles
        on converting_cycles.conversion_type = types.conversion_type
        and converting_cycles.account_id = journey_rows.account_id
        and converting_cycles.cycle = journey_rows.cycle
    where not list_contains(settings.excluded_types, journey_rows.event_type)
        and journey_rows.occurred_at >= cycle_ends.ended_at - to_days(cast(settings.lookback_days as integer))
    group by all
),

final as (
    select * from converted
    union all
    select * from not_converted
)

select * from final
