-- The lake's dead_letters, one row per key.
-- key: source_topic, source_partition, source_offset
with dead_letters as (
    select * from {{ ref('stg_dead_letters') }}
),

final as (
    select *
    from dead_letters
)

select * from final
