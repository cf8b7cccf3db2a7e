-- One row per account × touch, with its place on the journey.
with journey_touches as (
    select * from stg_journey_touches
),

final as (
    select
        -- ids
        event_id, source, account_id, journey_id,
        -- journey
        cycle, seq, stage, stage_before,
        is_first_touch, is_lead_touch, is_opportunity_touch, is_close_touch, is_reengagement,
        lead_response_hours,
        -- the touch
        event_type, occurred_at, event_date, touch_account_id, anonymous_id, user_id, email, crm_contact_id,
        account_domain, channel, campaign_id, team, role, opportunity_id, amount, currency, stage_raw,
        occurred_at_precision, received_at, utm, properties
    from journey_touches
)

select * from final
