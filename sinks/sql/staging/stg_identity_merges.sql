-- The lake's identity_merges: the latest version of each (event_id, merged_identity).
with source as (
    select * from {{ lake.identity_merges }}
),

final as (
    select *
    from source
    qualify row_number() over (partition by event_id, merged_identity order by _partition desc, _offset desc) = 1
)

select * from final
