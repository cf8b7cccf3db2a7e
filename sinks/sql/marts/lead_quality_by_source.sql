-- Lead quality per source: for each channel, campaign and content asset (dimension = 'channel',
-- 'campaign_id' or 'content'; value 'unknown' where the lead touch has none) the leads, sales'
-- verdicts on them, how long sales took to give one, what they became, and the closed-won revenue
-- credited to touches of that source under the model in the session variable
-- touchline_lead_quality_model [w_shaped]. Revenue is never summed across currencies: `credited_revenue`
-- is set when the source's credited revenue is in one currency (`credited_currency`); the map
-- `credited_revenue_by_currency` always holds every currency's amount.
-- key: dimension, value
with lead_rows as (
    select * from {{ ref('lead_quality') }}
),

credit_rows as (
    select * from {{ ref('attribution_credits') }}
),

settings as (
    select coalesce(getvariable('touchline_lead_quality_model'), 'w_shaped') as model
),

leads_by_source as (
    select source_value.dimension, coalesce(source_value.value, 'unknown') as value, lead_rows.*
    from lead_rows
    cross join lateral (
        select unnest(source_values(lead_rows.channel, lead_rows.campaign_id, lead_rows.content_id), recursive := true)
    ) as source_value
),

quality as (
    select
        dimension,
        value,
        count(*) as leads,
        count(*) filter (where was_accepted) as accepted,
        count(*) filter (where disposition = 'rejected') as rejected,
        count(*) filter (where was_recycled) as recycled,
        count(*) filter (where disposition = 'disqualified') as disqualified,
        count(*) filter (where disposition is null) as awaiting_disposition,
        count(*) filter (where was_accepted) / nullif(count(*) filter (where disposition is not null), 0)
            as acceptance_rate,
        median(hours_to_disposition) as median_hours_to_disposition,
        count(*) filter (where opportunity_at is not null) as opportunities,
        count(*) filter (where won_at is not null) as won,
        count(*) filter (where converted_after_recycling) as recycled_then_converted
    from leads_by_source
    group by dimension, value
),

credits_by_source as (
    select source_value.dimension, coalesce(source_value.value, 'unknown') as value, credit_rows.currency,
           sum(credit_rows.revenue_credit) as revenue
    from credit_rows
    cross join settings
    cross join lateral (
        select unnest(source_values(credit_rows.channel, credit_rows.campaign_id, credit_rows.content_id), recursive := true)
    ) as source_value
    where credit_rows.model = settings.model and credit_rows.conversion_type = 'closed_won'
    group by all
),

credited as (
    select
        dimension,
        value,
        map_from_entries(list({'k': currency, 'v': revenue} order by currency)) as credited_revenue_by_currency,
        case when count(*) = 1 then any_value(revenue) end as credited_revenue,
        case when count(*) = 1 then any_value(currency) end as credited_currency
    from credits_by_source
    group by dimension, value
),

final as (
    select
        quality.*,
        credited.credited_revenue,
        credited.credited_currency,
        credited.credited_revenue_by_currency
    from quality
    left join credited using (dimension, value)
)

select * from final
