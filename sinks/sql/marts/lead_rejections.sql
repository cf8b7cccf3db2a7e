-- Why sales turned leads down, per source: one row per dimension ('channel', 'campaign_id',
-- 'content') × value × verdict ('rejected', 'disqualified', or 'recycled') × reason ('unspecified'
-- when the verdict gave none), with the number of leads whose last verdict it was.
-- key: dimension, value, disposition, reason
with lead_rows as (
    select * from {{ ref('lead_quality') }}
),

turned_down as (
    select channel, campaign_id, content_id, disposition, coalesce(disposition_reason, 'unspecified') as reason
    from lead_rows
    where disposition in ('rejected', 'disqualified', 'recycled')
),

final as (
    select source_value.dimension, coalesce(source_value.value, 'unknown') as value, disposition, reason,
           count(*) as leads
    from turned_down
    cross join lateral (
        select unnest(source_values(turned_down.channel, turned_down.campaign_id, turned_down.content_id), recursive := true)
    ) as source_value
    group by all
)

select * from final
