-- The sales–marketing alignment scorecard: one row per (section, metric, segment).
-- The SLA figures come from sla_breaches (judged with the SLA the lake was stitched with).
-- Session variables: touchline_scorecard_model [w_shaped],
-- touchline_revenue_target [none], touchline_target_currency [the won deals' currency, when they
-- have one]. SQLs are opportunities created (sales-qualified leads). Amounts are reported per
-- currency (the segment names it) and shares are taken within a currency: never a sum of two.
-- key: section, metric, segment
with journey_rows as (
    select * from {{ ref('journey_touches') }}
),

conversion_rows as (
    select * from {{ ref('conversions') }}
),

credit_rows as (
    select * from {{ ref('attribution_credits') }}
),

transition_rows as (
    select * from {{ ref('journey_transitions') }}
),

lead_rows as (
    select * from {{ ref('lead_quality') }}
),

settings as (
    select
        coalesce(getvariable('touchline_scorecard_model'), 'w_shaped') as model,
        getvariable('touchline_revenue_target') as revenue_target,
        coalesce(getvariable('touchline_target_currency'),
                 (select any_value(currency) from {{ ref('conversions') }} where conversion_type = 'closed_won'
                  having count(distinct currency) = 1)) as target_currency
),

leads as (
    select
        journey_rows.account_id, journey_rows.cycle, journey_rows.event_id, journey_rows.occurred_at,
        journey_rows.channel, journey_rows.team,
        -- the first sales or SDR touch after the lead, in the same cycle
        (select min(later.occurred_at) from journey_rows as later
         where later.account_id = journey_rows.account_id and later.cycle = journey_rows.cycle
           and later.occurred_at >= journey_rows.occurred_at and later.team in ('sdr', 'sales')
           and later.seq > journey_rows.seq) as responded_at,
        (select count(*) from journey_rows as later
         where later.account_id = journey_rows.account_id and later.cycle = journey_rows.cycle
           and later.seq > journey_rows.seq and later.team in ('sdr', 'sales')
           and later.event_type not in ('opportunity_created', 'opportunity_stage_changed', 'closed_won',
                                        'closed_lost')) as follow_ups
    from journey_rows
    where journey_rows.is_lead_touch
),

lead_outcomes as (
    select
        leads.*,
        date_diff('second', leads.occurred_at, leads.responded_at) / 3600.0 as response_hours,
        exists (select 1 from conversion_rows where conversion_rows.account_id = leads.account_id
                and conversion_rows.cycle = leads.cycle and conversion_rows.conversion_type = 'opportunity')
            as has_opportunity,
        exists (select 1 from conversion_rows where conversion_rows.account_id = leads.account_id
                and conversion_rows.cycle = leads.cycle and conversion_rows.conversion_type = 'closed_won')
            as has_won,
        -- lost: the cycle's deal was lost, or the cycle ended (the account went silent and came back)
        exists (select 1 from journey_rows as lost where lost.account_id = leads.account_id
                and lost.cycle = leads.cycle and lost.event_type = 'closed_lost')
            or leads.cycle < (select max(later.cycle) from journey_rows as later
                              where later.account_id = leads.account_id) as is_lost
    from leads
),

deals as (
    select
        won.account_id, won.revenue, won.currency, won.converted_at, won.opportunity_created_at,
        date_diff('second', won.opportunity_created_at, won.converted_at) / 86400.0 as cycle_days,
        case when exists (select 1 from leads where leads.account_id = won.account_id
                          and leads.cycle = won.cycle and leads.team not in ('sdr', 'sales'))
             then 'marketing-sourced' else 'sales-sourced' end as source
    from conversion_rows as won
    where won.conversion_type = 'closed_won'
),

sqls as (
    select date_trunc('month', converted_at) as month, count(*) as sqls
    from conversion_rows where conversion_type = 'opportunity' group by 1
),

sqls_by_quarter as (
    select date_trunc('quarter', converted_at) as quarter, count(*) as sqls
    from conversion_rows where conversion_type = 'opportunity' group by 1
),

stage_days as (
    select
        from_stage as stage,
        date_diff('second', lag(transitioned_at) over (partition by account_id order by transitioned_at, event_id),
                  transitioned_at) / 86400.0 as days
    from transition_rows
),

team_credit as (
    select conversion_type, coalesce(team, 'unknown') as team, currency, sum(revenue_credit) as revenue,
           sum(pipeline_credit) as pipeline
    from credit_rows cross join settings
    where credit_rows.model = settings.model
    group by all
),

customers as (
    select account_id, bool_or(event_type = 'churn') as churned
    from journey_rows
    group by account_id
    having bool_or(event_type = 'closed_won')
),

customer_amounts as (
    select
        account_id,
        currency,
        sum(amount) filter (where event_type = 'closed_won') as won_revenue,
        sum(amount) filter (where event_type = 'renewal') as renewal_revenue,
        sum(amount) filter (where event_type = 'upsell') as upsell_revenue
    from journey_rows
    where event_type in ('closed_won', 'renewal', 'upsell')
    group by account_id, currency
),

metrics as (
    -- attainment
    select 'attainment' as section, 'closed-won revenue' as metric, currency as segment,
           coalesce(sum(revenue), 0) as value from conversion_rows where conversion_type = 'closed_won'
    group by currency
    union all
    select 'attainment', 'attainment vs target', any_value(settings.target_currency),
           coalesce(sum(revenue) filter (where conversion_type = 'closed_won'), 0) / any_value(settings.revenue_target)
    from settings left join conversion_rows on conversion_rows.currency = settings.target_currency
    where settings.revenue_target is not null and settings.target_currency is not null
    having count(*) > 0  -- no target: no row (an aggregate without group by gives one row of nulls)
    -- lead generation
    union all
    select 'lead generation', 'SQLs', strftime(month, '%Y-%m'), sqls from sqls
    union all
    select 'lead generation', 'SQLs month over month', strftime(month, '%Y-%m'),
           sqls / lag(sqls) over (order by month) - 1 from sqls
    union all
    select 'lead generation', 'SQLs quarter over quarter', strftime(quarter, '%Y-Q') || quarter(quarter),
           sqls / lag(sqls) over (order by quarter) - 1 from sqls_by_quarter
    union all
    select 'lead generation', 'share of leads', coalesce(channel, 'unknown'),
           count(*) / sum(count(*)) over () from leads group by channel
    -- service level
    union all
    select 'service level', 'median lead response hours', 'all', median(response_hours) from lead_outcomes
    -- the SLA figures are the sla_breaches table's: the one rule every path writes (lead_quality joins it)
    union all
    select 'service level', 'lead acceptance within SLA', 'all',
           avg(case when answered_at is not null and not is_sla_breach then 1.0 else 0.0 end)
    from lead_rows where is_marketing_lead
    union all
    select 'service level', 'SLA breach rate', 'all', avg(case when is_sla_breach then 1.0 else 0.0 end)
    from lead_rows where is_marketing_lead
    -- the closed loop: sales' verdicts on marketing leads
    union all
    select 'closed loop', 'lead acceptance rate', 'all',
           count(*) filter (where was_accepted) / nullif(count(*) filter (where disposition is not null), 0)
    from lead_rows where is_marketing_lead
    union all
    select 'closed loop', 'lead acceptance rate', coalesce(channel, 'unknown'),
           count(*) filter (where was_accepted) / nullif(count(*) filter (where disposition is not null), 0)
    from lead_rows where is_marketing_lead group by channel
    union all
    select 'closed loop', 'leads awaiting a verdict', 'all', avg(case when disposition is null then 1.0 else 0.0 end)
    from lead_rows where is_marketing_lead
    union all
    select 'closed loop', 'median hours to a verdict', 'all', median(hours_to_disposition)
    from lead_rows where is_marketing_lead
    union all
    select 'closed loop', 'rejection reasons', disposition || ' ' || coalesce(disposition_reason, 'unspecified'),
           count(*) / sum(count(*)) over ()
    from lead_rows where is_marketing_lead and disposition in ('rejected', 'disqualified')
    group by disposition, disposition_reason
    union all
    select 'closed loop', 'recycled leads later won', 'all',
           avg(case when won_after_recycling then 1.0 else 0.0 end)
    from lead_rows where is_marketing_lead and was_recycled
    union all
    select 'service level', 'leads lost without purchase', 'all',
           avg(case when is_lost and not has_won then 1.0 else 0.0 end) from lead_outcomes
    union all
    select 'service level', 'leads still open', 'all',
           avg(case when not is_lost and not has_won then 1.0 else 0.0 end) from lead_outcomes
    union all
    select 'service level', 'average follow-ups per lead', 'all', avg(follow_ups) from lead_outcomes
    -- conversion and velocity
    union all
    select 'funnel', 'lead → opportunity', 'all', avg(case when has_opportunity then 1.0 else 0.0 end)
    from lead_outcomes
    union all
    select 'funnel', 'opportunity → won', 'all',
           (select count(*) from conversion_rows where conversion_type = 'closed_won')
           / nullif((select count(*) from conversion_rows where conversion_type = 'opportunity'), 0)
    union all
    select 'funnel', 'lead → customer', 'all', avg(case when has_won then 1.0 else 0.0 end) from lead_outcomes
    union all
    select 'funnel', 'median days in stage', stage, median(days) from stage_days
    where stage is not null and days is not null group by stage
    union all
    select 'funnel', 're-engagement rate', 'accounts',
           avg(case when reengaged then 1.0 else 0.0 end)
    from (select account_id, bool_or(is_reengagement) as reengaged from journey_rows group by account_id)
    -- revenue
    union all
    select 'revenue', 'average deal size', source || ' ' || currency, avg(revenue) from deals group by source, currency
    union all
    select 'revenue', 'median sales-cycle days', source, median(cycle_days) from deals group by source
    union all
    select 'revenue', 'share of new-business revenue (' || any_value(settings.model) || ')', team || ' ' || currency,
           sum(revenue) / nullif(sum(sum(revenue)) over (partition by currency), 0)
    from team_credit cross join settings where conversion_type = 'closed_won' group by team, currency
    union all
    select 'revenue', 'share of renewal revenue (' || any_value(settings.model) || ')', team || ' ' || currency,
           sum(revenue) / nullif(sum(sum(revenue)) over (partition by currency), 0)
    from team_credit cross join settings where conversion_type = 'renewal' group by team, currency
    union all
    select 'revenue', 'share of pipeline (' || any_value(settings.model) || ')', team || ' ' || currency,
           sum(pipeline) / nullif(sum(sum(pipeline)) over (partition by currency), 0)
    from team_credit cross join settings where conversion_type = 'opportunity' group by team, currency
    -- growth
    union all
    select 'growth', 'customer retention', 'all', avg(case when churned then 0.0 else 1.0 end) from customers
    union all
    select 'growth', 'expansion revenue', currency, coalesce(sum(upsell_revenue), 0) from customer_amounts
    group by currency
    union all
    select 'growth', 'renewal and expansion per won revenue', currency,
           (coalesce(sum(renewal_revenue), 0) + coalesce(sum(upsell_revenue), 0)) / nullif(sum(won_revenue), 0)
    from customer_amounts group by currency
    union all
    select 'growth', 'contact density (people per account)', 'all', avg(people)
    from (select account_id, count(distinct person_id) as people
          from journey_rows group by account_id)
),

final as (
    select section, metric, segment, value from metrics
)

select * from final
