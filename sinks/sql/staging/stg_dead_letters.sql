-- The lake's dead_letters: the latest version of each (source_topic, source_partition, source_offset).
with source as (
    select * from {{ lake.dead_letters }}
),

final as (
    select *
    from source
    qualify row_number() over (partition by source_topic, source_partition, source_offset order by _partition desc, _offset desc) = 1
)

select * from final
