-- The lake's spend (touchline import spend): one row per platform × account × campaign × day.
-- key: platform, account_id, campaign_id, spend_date
select
    -- ids
    platform, account_id, campaign_id, campaign_name,
    -- the source
    channel, subchannel,
    -- the day (the partition: the UTC date the platform reported)
    event_date as spend_date,
    -- figures
    amount, currency, clicks, impressions
from {{ lake.spend }}
