-- The lake's identity_merges, one row per key, without the landing bookkeeping.
with identity_merges as (
    select * from stg_identity_merges
),

final as (
    select * exclude (_partition, _offset)
    from identity_merges
)

select * from final
