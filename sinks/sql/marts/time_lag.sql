-- Time lag: how long before the conversions they earned credit for each channel's touches happened, so that
-- recent spend can be judged before its deals close. Per channel × conversion type × lag bucket (days from the
-- touch to the conversion: 0-7, 8-30, 31-90, 91-180, over 180), the credit earned there under one model
-- (touchline_return_model [w_shaped]) and the credited touches; median_days is the channel's median lag for
-- the conversion type, weighted by touch, not by credit.
-- key: channel, conversion_type, bucket_order
with credit_rows as (
    select * from {{ ref('attribution_credits') }}
),

touch_rows as (
    select * from {{ ref('attribution_touches') }}
),

settings as (
    select coalesce(getvariable('touchline_return_model'), 'w_shaped') as model
),

lagged as (
    select
        credit_rows.channel, credit_rows.conversion_type, credit_rows.credit, touch_rows.days_before_conversion,
        case
            when touch_rows.days_before_conversion <= 7 then 1
            when touch_rows.days_before_conversion <= 30 then 2
            when touch_rows.days_before_conversion <= 90 then 3
            when touch_rows.days_before_conversion <= 180 then 4
            else 5
        end as bucket_order
    from credit_rows
    cross join settings
    inner join touch_rows
        on touch_rows.conversion_type = credit_rows.conversion_type
        and touch_rows.conversion_id = credit_rows.conversion_id
        and touch_rows.event_id = credit_rows.event_id
        and touch_rows.source = credit_rows.source
    where credit_rows.model = settings.model
),

medians as (
    select channel, conversion_type, quantile_cont(days_before_conversion, 0.5) as median_days
    from lagged
    group by channel, conversion_type
),

final as (
    select
        lagged.channel, lagged.conversion_type, lagged.bucket_order,
        ['0-7 days', '8-30 days', '31-90 days', '91-180 days', 'over 180 days'][lagged.bucket_order] as lag,
        sum(lagged.credit) as credited_conversions,
        count(*) as touches,
        any_value(medians.median_days) as median_days
    from lagged
    left join medians
        on medians.channel is not distinct from lagged.channel
        and medians.conversion_type = lagged.conversion_type
    group by lagged.channel, lagged.conversion_type, lagged.bucket_order
)

select * from final
