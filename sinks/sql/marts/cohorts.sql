-- Account cohorts: accounts by the month of their first touch (cohort_month) and, for each month since
-- (months_since: 0 is the cohort's own month, up to the lake's last touch), the share of the cohort that had
-- reached a lead, an opportunity and a won deal by the end of that month. Months are UTC calendar months.
-- key: cohort_month, months_since
with journey_rows as (
    select * from {{ ref('journey_touches') }}
),

milestones as (
    select
        account_id,
        min(occurred_at) as first_at,
        min(occurred_at) filter (where is_lead_touch) as lead_at,
        min(occurred_at) filter (where event_type = 'opportunity_created') as opportunity_at,
        min(occurred_at) filter (where event_type = 'closed_won') as won_at
    from journey_rows
    group by account_id
),

cohorted as (
    select
        account_id,
        cast(date_trunc('month', timezone('UTC', first_at)) as date) as cohort_month,
        date_diff('month', date_trunc('month', timezone('UTC', first_at)),
                  date_trunc('month', timezone('UTC', lead_at))) as lead_month,
        date_diff('month', date_trunc('month', timezone('UTC', first_at)),
                  date_trunc('month', timezone('UTC', opportunity_at))) as opportunity_month,
        date_diff('month', date_trunc('month', timezone('UTC', first_at)),
                  date_trunc('month', timezone('UTC', won_at))) as won_month
    from milestones
),

last_month as (
    select cast(date_trunc('month', timezone('UTC', max(occurred_at))) as date) as month from journey_rows
),

grid as (
    select cohorts.cohort_month, unnest(range(0, date_diff('month', cohorts.cohort_month, last_month.month) + 1))
        as months_since
    from (select distinct cohort_month from cohorted) as cohorts
    cross join last_month
),

final as (
    select
        grid.cohort_month,
        grid.months_since,
        count(*) as accounts,
        count(*) filter (where cohorted.lead_month <= grid.months_since) / count(*) as lead_share,
        count(*) filter (where cohorted.opportunity_month <= grid.months_since) / count(*) as opportunity_share,
        count(*) filter (where cohorted.won_month <= grid.months_since) / count(*) as won_share
    from grid
    inner join cohorted on cohorted.cohort_month = grid.cohort_month
    group by grid.cohort_month, grid.months_since
)

select * from final
