-- One row per stage change: derived from the journey touches, so a late touch that re-folds
-- a journey never leaves a stale transition behind.
-- key: source, event_id
with source_journey_touches as (
    select * from {{ ref('journey_touches') }}
),

final as (
    select
        -- ids
        event_id, source, account_id, journey_id, cycle,
        -- the change
        stage_before as from_stage,
        stage as to_stage,
        occurred_at as transitioned_at,
        event_type as cause,
        is_reengagement
    from source_journey_touches
    where stage is distinct from stage_before
)

select * from final
