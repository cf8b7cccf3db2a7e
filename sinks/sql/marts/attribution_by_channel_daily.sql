-- Credited conversions and revenue per model, channel, day of the conversion and currency.
-- key: model, conversion_type, conversion_date, channel, currency?
with source_attribution_credits as (
    select * from {{ ref('attribution_credits') }}
),

conversion_dates as (
    select conversion_id, converted_at from {{ ref('conversions') }}
),

final as (
    select
        source_attribution_credits.model,
        source_attribution_credits.conversion_type,
        cast(conversion_dates.converted_at as date) as conversion_date,
        coalesce(source_attribution_credits.channel, 'unknown') as channel,
        sum(source_attribution_credits.credit) as conversions,
        sum(source_attribution_credits.revenue_credit) as revenue,
        sum(source_attribution_credits.pipeline_credit) as pipeline,
        source_attribution_credits.currency
    from source_attribution_credits
    inner join conversion_dates on conversion_dates.conversion_id = source_attribution_credits.conversion_id
    group by all
)

select * from final
