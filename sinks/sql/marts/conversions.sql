-- One row per conversion: a lead (the cycle's lead touch), an opportunity created, a deal won,
-- a renewal or upsell. Revenue is the deal's amount in its own currency or, with the session
-- variable touchline_reporting_currency, in that currency at the rate (exchange_rates) in
-- effect on the conversion's day; original_currency and exchange_rate say what was converted
-- (a missing rate leaves the amounts null).
-- key: conversion_id
with source_journey_touches as (
    select * from {{ ref('journey_touches') }}
),

rates as (
    select * from {{ ref('exchange_rates') }}
),

reporting as (
    select getvariable('touchline_reporting_currency') as currency
),

opportunities as (
    select opportunity_id, account_id, min(occurred_at) as opportunity_created_at
    from source_journey_touches
    where event_type = 'opportunity_created'
    group by opportunity_id, account_id
),

conversions as (
    select
        event_id, source, account_id, journey_id, cycle, occurred_at, opportunity_id, amount, currency, team,
        case
            when is_lead_touch then 'lead'
            when event_type = 'opportunity_created' then 'opportunity'
            when event_type = 'closed_won' then 'closed_won'
            when event_type in ('renewal', 'upsell') then 'renewal'
        end as conversion_type
    from source_journey_touches
    where is_lead_touch or event_type in ('opportunity_created', 'closed_won', 'renewal', 'upsell')
),

converted as (
    select
        conversions.*,
        case when reporting.currency is null or conversions.currency is null
                  or conversions.currency = reporting.currency then 1.0
             else rates.rate end as exchange_rate,
        coalesce(reporting.currency, conversions.currency) as reporting_currency
    from conversions
    cross join reporting
    asof left join rates
        on rates.currency = conversions.currency
        and cast(conversions.occurred_at as date) >= rates.valid_from
),

final as (
    select
        -- ids
        conversions.conversion_type || ':' || conversions.source || ':' || conversions.event_id as conversion_id,
        conversions.conversion_type,
        conversions.event_id,
        conversions.account_id,
        conversions.journey_id,
        conversions.opportunity_id,
        conversions.cycle,
        -- timestamps
        conversions.occurred_at as converted_at,
        opportunities.opportunity_created_at,
        -- value
        case when conversions.conversion_type in ('closed_won', 'renewal') then conversions.amount else 0 end
            * conversions.exchange_rate as revenue,
        case when conversions.conversion_type = 'opportunity' then conversions.amount else 0 end
            * conversions.exchange_rate as pipeline,
        case when conversions.currency is not null then conversions.reporting_currency end as currency,
        conversions.team as converting_team,
        conversions.currency as original_currency,
        conversions.exchange_rate
    from converted as conversions
    left join opportunities
        on opportunities.opportunity_id = conversions.opportunity_id
        and opportunities.account_id = conversions.account_id
)

select * from final
