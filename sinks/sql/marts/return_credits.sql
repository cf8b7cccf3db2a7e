-- The credits the return marts count: attribution_credits under one model (session variable
-- touchline_return_model [w_shaped]), dated by the month of the credited touch (when the money that
-- bought it was spent), with each touch's campaign as the spend table knows it: a touch tagged with a
-- campaign's name (utm_campaign) counts for that campaign's id when the name is one campaign's only.
-- key: conversion_id, source, event_id
with credit_rows as (
    select * from {{ ref('attribution_credits') }}
),

settings as (
    select coalesce(getvariable('touchline_return_model'), 'w_shaped') as model
),

named_campaigns as (
    select * from {{ ref('campaign_names') }}
),

final as (
    select
        -- ids
        credit_rows.conversion_id, credit_rows.conversion_type, credit_rows.event_id, credit_rows.source,
        settings.model,
        -- the source
        credit_rows.channel, credit_rows.subchannel,
        coalesce(named_campaigns.campaign_id, credit_rows.campaign_id) as campaign_id,
        credit_rows.content_id,
        -- time
        cast(date_trunc('month', timezone('UTC', credit_rows.occurred_at)) as date) as month,
        -- credit
        credit_rows.credit, credit_rows.revenue_credit, credit_rows.pipeline_credit, credit_rows.currency
    from credit_rows
    cross join settings
    left join named_campaigns
        on named_campaigns.campaign_name = credit_rows.campaign_id
    where credit_rows.model = settings.model
)

select * from final
