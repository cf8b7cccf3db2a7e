-- The lake's identity_merges, one row per key.
-- key: event_id, merged_identity
with identity_merges as (
    select * from {{ ref('stg_identity_merges') }}
),

final as (
    select *
    from identity_merges
)

select * from final
