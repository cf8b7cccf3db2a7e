-- The lake's identity_merges, one row per key.
with identity_merges as (
    select * from stg_identity_merges
),

final as (
    select *
    from identity_merges
)

select * from final
