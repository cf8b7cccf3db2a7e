-- One row per lead (the lead touch of a buying cycle) with sales' verdict on it and what became of it:
-- the closed loop. A disposition judges the lead of its cycle (a rejection or disqualification ends
-- the cycle, so the next lead is another cycle's). `disposition` is the last verdict, `first_disposition_at`
-- the first; null while sales has said nothing. Recycled leads that later converted count an opportunity or
-- a won deal of the account after the recycling, in any cycle (the first of them: converted_after_recycling_at;
-- the first won deal: won_after_recycling_at).
-- key: lead_event_id
with journey_rows as (
    select * from {{ ref('journey_touches') }}
),

breaches as (
    select * from {{ ref('sla_breaches') }}
),

leads as (
    select
        event_id as lead_event_id, source, account_id, journey_id, cycle, seq, occurred_at as lead_at,
        channel, campaign_id, content_id, team, team is null or team not in ('sdr', 'sales') as is_marketing_lead
    from journey_rows
    where is_lead_touch
),

dispositions as (
    select
        leads.lead_event_id,
        replace(later.event_type, 'lead_', '') as disposition,
        later.occurred_at,
        later.seq,
        later.disposition_reason,
        later.disposition_note
    from leads
    inner join journey_rows as later
        on later.account_id = leads.account_id and later.cycle = leads.cycle and later.seq > leads.seq
    where later.event_type in ('lead_accepted', 'lead_rejected', 'lead_recycled', 'lead_disqualified')
),

verdicts as (
    select
        lead_event_id,
        arg_max(disposition, seq) as disposition,
        arg_max(disposition_reason, seq) as disposition_reason,
        arg_max(disposition_note, seq) as disposition_note,
        min(occurred_at) as first_disposition_at,
        bool_or(disposition = 'accepted') as was_accepted,
        min(occurred_at) filter (where disposition = 'recycled') as recycled_at
    from dispositions
    group by lead_event_id
),

answers as (
    select leads.lead_event_id, min(later.occurred_at) as answered_at
    from leads
    inner join journey_rows as later
        on later.account_id = leads.account_id and later.cycle = leads.cycle and later.seq > leads.seq
    where later.lead_response_hours is not null
    group by leads.lead_event_id
),

milestones as (
    select
        leads.lead_event_id,
        min(later.occurred_at) filter (where later.event_type = 'opportunity_created' and later.cycle = leads.cycle)
            as opportunity_at,
        min(later.occurred_at) filter (where later.event_type = 'closed_won' and later.cycle = leads.cycle) as won_at,
        min(later.occurred_at) filter (where later.event_type in ('opportunity_created', 'closed_won')
                                         and later.occurred_at >= verdicts.recycled_at) as converted_after_recycling_at,
        min(later.occurred_at) filter (where later.event_type = 'closed_won' and later.occurred_at >= verdicts.recycled_at)
            as won_after_recycling_at
    from leads
    left join verdicts using (lead_event_id)
    inner join journey_rows as later
        on later.account_id = leads.account_id and later.seq > leads.seq
    group by leads.lead_event_id
),

final as (
    select
        -- the lead
        leads.lead_event_id, leads.source, leads.account_id, leads.journey_id, leads.cycle, leads.lead_at,
        leads.channel, leads.campaign_id, leads.content_id, leads.team, leads.is_marketing_lead,
        -- sales' verdict
        verdicts.disposition,
        verdicts.disposition_reason,
        verdicts.disposition_note,
        verdicts.first_disposition_at,
        date_diff('second', leads.lead_at, verdicts.first_disposition_at) / 3600.0 as hours_to_disposition,
        coalesce(verdicts.was_accepted, false) as was_accepted,
        verdicts.recycled_at is not null as was_recycled,
        verdicts.recycled_at,
        -- the lead SLA
        answers.answered_at,
        breaches.lead_event_id is not null as is_sla_breach,
        -- what became of it
        milestones.opportunity_at,
        milestones.won_at,
        milestones.converted_after_recycling_at,
        milestones.converted_after_recycling_at is not null as converted_after_recycling,
        milestones.won_after_recycling_at,
        milestones.won_after_recycling_at is not null as won_after_recycling
    from leads
    left join verdicts using (lead_event_id)
    left join answers using (lead_event_id)
    left join milestones using (lead_event_id)
    left join breaches using (lead_event_id)
)

select * from final
