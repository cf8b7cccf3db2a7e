-- Spend and return per month × source (dimension channel, subchannel or campaign_id, and its value) ×
-- currency: what was spent (ad_spend) beside what the credited touches of that month earned (return_credits,
-- under one model). Money figures never add two currencies: opportunities, pipeline, new customers and won
-- revenue are those of deals in the row's currency. Leads have no currency: each row of a source and month
-- carries that source's credited leads (a month with leads but no money has a row with a null currency).
-- won_revenue is new business (closed_won), renewals and upsells excluded. Ratios are null where their
-- divisor is 0: cost_per_lead = spend / leads, cost_per_opportunity = spend / opportunities,
-- cac = spend / new_customers, roas = won_revenue / spend, pipeline_per_spend = pipeline / spend.
-- key: month, dimension, value, currency?
with spend_rows as (
    select * from {{ ref('ad_spend') }}
),

credits as (
    select * from {{ ref('return_credits') }}
),

settings as (
    select coalesce(getvariable('touchline_return_model'), 'w_shaped') as model
),

spend_sources as (
    select
        month, currency, amount, clicks, impressions,
        unnest([{'dimension': 'channel', 'value': channel}, {'dimension': 'subchannel', 'value': subchannel},
                {'dimension': 'campaign_id', 'value': campaign_id}], recursive := true)
    from spend_rows
),

credit_sources as (
    select
        month, conversion_type, currency, credit, revenue_credit, pipeline_credit,
        unnest([{'dimension': 'channel', 'value': channel}, {'dimension': 'subchannel', 'value': subchannel},
                {'dimension': 'campaign_id', 'value': campaign_id}], recursive := true)
    from credits
),

spend_by as (
    select month, dimension, value, currency, sum(amount) as spend, sum(clicks) as clicks,
        sum(impressions) as impressions
    from spend_sources
    where value is not null
    group by month, dimension, value, currency
),

money_by as (
    select
        month, dimension, value, currency,
        sum(credit) filter (where conversion_type = 'opportunity') as opportunities,
        sum(pipeline_credit) filter (where conversion_type = 'opportunity') as pipeline,
        sum(credit) filter (where conversion_type = 'closed_won') as new_customers,
        sum(revenue_credit) filter (where conversion_type = 'closed_won') as won_revenue
    from credit_sources
    where value is not null and currency is not null and conversion_type in ('opportunity', 'closed_won')
    group by month, dimension, value, currency
),

leads_by as (
    select month, dimension, value, sum(credit) as leads
    from credit_sources
    where value is not null and conversion_type = 'lead'
    group by month, dimension, value
),

with_money as (
    select month, dimension, value, currency from spend_by
    union
    select month, dimension, value, currency from money_by
),

keyed as (
    select * from with_money
    union all
    select leads_by.month, leads_by.dimension, leads_by.value, cast(null as varchar) as currency
    from leads_by
    anti join with_money using (month, dimension, value)
),

final as (
    select
        -- the source and month
        keyed.month, keyed.dimension, keyed.value, keyed.currency, settings.model,
        -- spend
        coalesce(spend_by.spend, 0) as spend,
        coalesce(spend_by.clicks, 0) as clicks,
        coalesce(spend_by.impressions, 0) as impressions,
        -- credited return
        coalesce(leads_by.leads, 0) as leads,
        coalesce(money_by.opportunities, 0) as opportunities,
        coalesce(money_by.pipeline, 0) as pipeline,
        coalesce(money_by.new_customers, 0) as new_customers,
        coalesce(money_by.won_revenue, 0) as won_revenue,
        -- ratios
        spend_by.spend / nullif(leads_by.leads, 0) as cost_per_lead,
        spend_by.spend / nullif(money_by.opportunities, 0) as cost_per_opportunity,
        spend_by.spend / nullif(money_by.new_customers, 0) as cac,
        coalesce(money_by.won_revenue, 0) / nullif(spend_by.spend, 0) as roas,
        coalesce(money_by.pipeline, 0) / nullif(spend_by.spend, 0) as pipeline_per_spend
    from keyed
    cross join settings
    left join spend_by using (month, dimension, value, currency)
    left join money_by using (month, dimension, value, currency)
    left join leads_by using (month, dimension, value)
)

select * from final
