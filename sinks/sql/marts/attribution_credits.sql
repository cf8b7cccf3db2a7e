-- One row per conversion × touch × rule-based model: the touch's share of the conversion
-- (credit, summing to 1 per conversion and model) and of its revenue and pipeline.
--
-- Milestone models give each milestone its weight and split the rest weight equally over
-- the other touches ("rest"). A touch holding several milestones gets their sum. When a
-- milestone is missing (no lead touch, say) its weight goes to the milestones present, in
-- proportion; with no rest touches, the milestones share everything. U-shaped's rest is the
-- touches between the first and the lead touch. time_decay halves a touch's weight every
-- touchline_half_life_days [7] before the conversion.
with source_attribution_touches as (
    select * from attribution_touches
),

model_weights as (
    select * from (values
        ('first_touch', 1.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        ('last_touch', 0.0, 1.0, 0.0, 0.0, 0.0, 0.0),
        ('linear', 0.0, 0.0, 0.0, 0.0, 0.0, 1.0),
        ('position_based', 0.4, 0.4, 0.0, 0.0, 0.0, 0.2),
        ('u_shaped', 0.4, 0.0, 0.4, 0.0, 0.0, 0.2),
        ('w_shaped', 0.3, 0.0, 0.3, 0.3, 0.0, 0.1),
        ('full_path', 0.225, 0.0, 0.225, 0.225, 0.225, 0.1)
    ) as weights (model, first_weight, last_weight, lead_weight, opportunity_weight, close_weight, rest_weight)
),

held as (
    select
        source_attribution_touches.*,
        model_weights.*,
        (case when is_first then first_weight else 0 end)
            + (case when is_last then last_weight else 0 end)
            + (case when is_lead then lead_weight else 0 end)
            + (case when is_opportunity then opportunity_weight else 0 end)
            + (case when is_close then close_weight else 0 end) as milestone_weight,
        not (is_first and first_weight > 0 or is_last and last_weight > 0 or is_lead and lead_weight > 0
             or is_opportunity and opportunity_weight > 0 or is_close and close_weight > 0)
            and (model <> 'u_shaped' or is_before_lead) as is_rest
    from source_attribution_touches
    cross join model_weights
),

shares as (
    select
        *,
        -- weight of the milestones present in this conversion's path
        max(case when is_first then first_weight else 0 end) over path
            + max(case when is_last then last_weight else 0 end) over path
            + max(case when is_lead then lead_weight else 0 end) over path
            + max(case when is_opportunity then opportunity_weight else 0 end) over path
            + max(case when is_close then close_weight else 0 end) over path as present_weight,
        count(*) filter (where is_rest) over path as rest_count
    from held
    window path as (partition by conversion_id, model)
),

milestone_credits as (
    select
        *,
        case
            when present_weight = 0 then (case when is_rest then 1.0 / rest_count else 0 end)
            else milestone_weight / present_weight * (1 - case when rest_count > 0 then rest_weight else 0 end)
                + case when is_rest then rest_weight / rest_count else 0 end
        end as credit
    from shares
),

decayed as (
    select
        source_attribution_touches.*,
        'time_decay' as model,
        pow(0.5, days_before_conversion / coalesce(getvariable('touchline_half_life_days'), 7)) as decay
    from source_attribution_touches
),

time_decay_credits as (
    select *, decay / sum(decay) over (partition by conversion_id) as credit
    from decayed
),

credits as (
    select conversion_id, conversion_type, model, event_id, source, account_id, occurred_at, channel,
           campaign_id, event_type, team, stage, revenue, pipeline, credit
    from milestone_credits
    union all
    select conversion_id, conversion_type, model, event_id, source, account_id, occurred_at, channel,
           campaign_id, event_type, team, stage, revenue, pipeline, credit
    from time_decay_credits
),

final as (
    select
        -- ids
        conversion_id, conversion_type, model, event_id, source, account_id,
        -- the touch
        occurred_at, channel, campaign_id, event_type, team, stage,
        -- credit
        credit,
        credit * revenue as revenue_credit,
        credit * pipeline as pipeline_credit
    from credits
    where credit > 0
)

select * from final
