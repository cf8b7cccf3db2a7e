-- Spend and credited return per month × campaign × currency (see performance for each figure), with the
-- campaign's name, platform and channel as its spend rows give them. Touches name a campaign by id alone (no
-- platform), so an id two platforms share is one campaign: its spend adds up, platform lists both.
-- key: month, campaign_id, currency?
with performance_rows as (
    select * from {{ ref('performance') }}
),

spend_rows as (
    select * from {{ ref('ad_spend') }}
),

campaigns as (
    select campaign_id, any_value(campaign_name) as campaign_name, string_agg(distinct platform, ',') as platform,
        any_value(channel) as channel
    from spend_rows
    group by campaign_id
),

final as (
    select
        performance_rows.month, performance_rows.value as campaign_id, campaigns.campaign_name, campaigns.platform,
        campaigns.channel, performance_rows.currency, performance_rows.model,
        performance_rows.spend, performance_rows.clicks, performance_rows.impressions, performance_rows.leads,
        performance_rows.opportunities, performance_rows.pipeline, performance_rows.new_customers,
        performance_rows.won_revenue, performance_rows.cost_per_lead, performance_rows.cost_per_opportunity,
        performance_rows.cac, performance_rows.roas, performance_rows.pipeline_per_spend
    from performance_rows
    left join campaigns on campaigns.campaign_id = performance_rows.value
    where performance_rows.dimension = 'campaign_id'
)

select * from final
