-- The value of a touch in the dimension attribution is asked for (channel by default).
create or replace macro dimension_value(dimension, channel, campaign_id, event_type, team, stage, content_id,
                                          subchannel := null) as (
    case dimension
        when 'campaign_id' then campaign_id
        when 'event_type' then event_type
        when 'team' then team
        when 'stage' then stage
        when 'content' then content_id
        when 'subchannel' then subchannel
        else channel
    end
);
