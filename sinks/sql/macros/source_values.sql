-- The sources a lead or a credit is counted under: (dimension, value) for its channel, campaign and content asset.
create or replace macro source_values(channel, campaign_id, content_id) as [
    {'dimension': 'channel', 'value': channel},
    {'dimension': 'campaign_id', 'value': campaign_id},
    {'dimension': 'content', 'value': content_id}
];
