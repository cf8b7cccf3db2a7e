-- One row per platform × account × campaign × day of ad spend, with its month. The amount is in its own
-- currency or, with the session variable touchline_reporting_currency, in that currency at the rate
-- (exchange_rates) in effect on the day, as conversions does; original_currency and exchange_rate say what
-- was converted (a missing rate leaves the amount null; sinks.attribution.open_lake refuses it, as for conversions).
-- key: platform, account_id, campaign_id, spend_date
with spend_rows as (
    select * from {{ ref('stg_spend') }}
),

rates as (
    select * from {{ ref('exchange_rates') }}
),

reporting as (
    select getvariable('touchline_reporting_currency') as currency
),

converted as (
    select
        spend_rows.*,
        case when reporting.currency is null or spend_rows.currency = reporting.currency then 1.0
             else rates.rate end as exchange_rate,
        coalesce(reporting.currency, spend_rows.currency) as reporting_currency
    from spend_rows
    cross join reporting
    asof left join rates
        on rates.currency = spend_rows.currency
        and spend_rows.spend_date >= rates.valid_from
),

final as (
    select
        -- ids
        platform, account_id, campaign_id, campaign_name,
        -- the source
        channel, subchannel,
        -- time
        spend_date,
        cast(date_trunc('month', spend_date) as date) as month,
        -- figures
        amount * exchange_rate as amount,
        reporting_currency as currency,
        clicks, impressions,
        currency as original_currency,
        exchange_rate
    from converted
)

select * from final
