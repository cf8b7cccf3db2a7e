-- One row per account: where its journey stands now. Revenue (won deals, renewals, upsells) is
-- the sum in the account's currency, with the currency; an account with deals in several
-- currencies has no single figure (revenue and currency null): revenue_by_currency lists them.
-- key: account_id
with source_journey_touches as (
    select * from {{ ref('journey_touches') }}
),

latest as (
    select *
    from source_journey_touches
    qualify row_number() over (partition by account_id order by seq desc) = 1
),

totals as (
    select
        account_id,
        count(*) as count_touches,
        count(distinct person_id) as count_people,  -- persons, not identifiers (see people)
        min(occurred_at) as first_touch_at,
        max(occurred_at) as last_touch_at,
        count(*) filter (where is_reengagement) as count_reengagements,
        count(*) filter (where event_type = 'closed_won') as count_won_deals
    from source_journey_touches
    group by account_id
),

amounts as (
    select account_id, currency, sum(amount) as amount
    from source_journey_touches
    where event_type in ('closed_won', 'renewal', 'upsell') and amount is not null
    group by account_id, currency
),

revenue as (
    select
        account_id,
        case when count(*) = 1 then any_value(amount) end as revenue,
        case when count(*) = 1 then any_value(currency) end as currency,
        string_agg(currency || ' ' || printf('%.2f', amount), ', ' order by currency) as revenue_by_currency
    from amounts
    group by account_id
),

final as (
    select
        -- ids
        latest.account_id,
        latest.journey_id,
        -- now
        latest.stage,
        latest.cycle,
        -- history
        totals.first_touch_at,
        totals.last_touch_at,
        totals.count_touches,
        totals.count_people,
        totals.count_reengagements,
        totals.count_won_deals,
        revenue.revenue,
        revenue.currency,
        revenue.revenue_by_currency
    from latest
    inner join totals on totals.account_id = latest.account_id
    left join revenue on revenue.account_id = latest.account_id
)

select * from final
