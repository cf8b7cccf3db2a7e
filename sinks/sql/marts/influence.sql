-- Influence, not only credit: per source (dimension channel, subchannel, campaign_id or content, and its
-- value) × currency, the opportunities, pipeline, won deals and won revenue that any of the source's touches
-- touched within the conversion's lookback window (attribution_touches), uncredited: an opportunity counts
-- in full for every source that touched it (as Salesforce Campaign Influence reports it), so these figures
-- add up to more than the whole. Beside them, the same conversions' credit under one model
-- (return_credits, touchline_return_model [w_shaped]). Campaigns as return_credits keys them.
-- key: dimension, value, currency
with touch_rows as (
    select * from {{ ref('attribution_touches') }}
),

credits as (
    select * from {{ ref('return_credits') }}
),

named_campaigns as (
    select * from {{ ref('campaign_names') }}
),

touched as (
    select distinct
        touch_rows.conversion_id, touch_rows.conversion_type, touch_rows.currency, touch_rows.revenue,
        touch_rows.pipeline, source_value.dimension, source_value.value
    from touch_rows
    left join named_campaigns
        on named_campaigns.campaign_name = touch_rows.campaign_id
    cross join unnest([
        {'dimension': 'channel', 'value': touch_rows.channel},
        {'dimension': 'subchannel', 'value': touch_rows.subchannel},
        {'dimension': 'campaign_id', 'value': coalesce(named_campaigns.campaign_id, touch_rows.campaign_id)},
        {'dimension': 'content', 'value': touch_rows.content_id}]) as sources(source_value)
    where touch_rows.conversion_type in ('opportunity', 'closed_won') and touch_rows.currency is not null
),

influenced as (
    select
        dimension, value, currency,
        count(*) filter (where conversion_type = 'opportunity') as opportunities,
        coalesce(sum(pipeline) filter (where conversion_type = 'opportunity'), 0) as pipeline,
        count(*) filter (where conversion_type = 'closed_won') as won_deals,
        coalesce(sum(revenue) filter (where conversion_type = 'closed_won'), 0) as won_revenue
    from touched
    where value is not null
    group by dimension, value, currency
),

credit_sources as (
    select
        conversion_type, currency, credit, revenue_credit, pipeline_credit, model,
        unnest([{'dimension': 'channel', 'value': channel}, {'dimension': 'subchannel', 'value': subchannel},
                {'dimension': 'campaign_id', 'value': campaign_id}, {'dimension': 'content', 'value': content_id}],
               recursive := true)
    from credits
    where conversion_type in ('opportunity', 'closed_won') and currency is not null
),

credited as (
    select
        dimension, value, currency, any_value(model) as model,
        sum(credit) filter (where conversion_type = 'opportunity') as credited_opportunities,
        sum(pipeline_credit) filter (where conversion_type = 'opportunity') as credited_pipeline,
        sum(credit) filter (where conversion_type = 'closed_won') as credited_won_deals,
        sum(revenue_credit) filter (where conversion_type = 'closed_won') as credited_won_revenue
    from credit_sources
    where value is not null
    group by dimension, value, currency
),

final as (
    select
        -- the source
        influenced.dimension, influenced.value, influenced.currency,
        -- touched (uncredited)
        influenced.opportunities, influenced.pipeline, influenced.won_deals, influenced.won_revenue,
        -- credited, under the model
        coalesce(credited.model, (select coalesce(getvariable('touchline_return_model'), 'w_shaped'))) as model,
        coalesce(credited.credited_opportunities, 0) as credited_opportunities,
        coalesce(credited.credited_pipeline, 0) as credited_pipeline,
        coalesce(credited.credited_won_deals, 0) as credited_won_deals,
        coalesce(credited.credited_won_revenue, 0) as credited_won_revenue
    from influenced
    left join credited using (dimension, value, currency)
)

select * from final
