-- One row per account × touch, with its place on the journey and the person it is from (see people).
-- key: source, event_id
with journey_touches as (
    select * from {{ ref('stg_journey_touches') }}
),

person_of as (
    select * from {{ ref('people') }}
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
        occurred_at_precision, received_at, utm, properties, content_id, disposition_reason, disposition_note,
        subchannel,
        -- the person
        person_of.person_id, person_of.person_label
    from journey_touches
    left join person_of
        on person_of.identifier = coalesce('email:' || lower(trim(journey_touches.email)),
                                           'contact:' || journey_touches.crm_contact_id,
                                           'user:' || journey_touches.user_id,
                                           'anon:' || journey_touches.anonymous_id)
)

select * from final
