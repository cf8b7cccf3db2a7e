-- The campaign id each campaign name stands for, where touches are tagged with the name (utm_campaign = the
-- name): one name of one id only, and never a name that is some campaign's id.
-- key: campaign_name
with

spend_rows as (
    select * from {{ ref('ad_spend') }}
),

final as (
    select campaign_name, min(campaign_id) as campaign_id
    from spend_rows
    where campaign_name is not null
        and campaign_name not in (select campaign_id from spend_rows)  -- an id stays the id it is
    group by campaign_name
    having count(distinct campaign_id) = 1
)

select * from final
