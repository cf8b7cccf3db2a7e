-- Spend and credited return per month × channel × currency (see performance for each figure).
-- key: month, channel, currency?
with performance_rows as (
    select * from {{ ref('performance') }}
),

final as (
    select
        month, value as channel, currency, model,
        spend, clicks, impressions, leads, opportunities, pipeline, new_customers, won_revenue,
        cost_per_lead, cost_per_opportunity, cac, roas, pipeline_per_spend
    from performance_rows
    where dimension = 'channel'
)

select * from final
