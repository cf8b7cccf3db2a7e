-- The attribution settings of this session, from DuckDB variables (defaults in brackets):
-- touchline_lookback_days [365]; touchline_excluded_types [the CRM lifecycle events, which
-- are conversions rather than touches, and sales' dispositions of leads, which are verdicts];
-- touchline_conversion_type [all: set it to compute one conversion type only, which is much
-- less work].
-- key: (one row)
with final as (
    select
        coalesce(getvariable('touchline_lookback_days'), 365) as lookback_days,
        coalesce(getvariable('touchline_excluded_types'),
                 ['opportunity_created', 'opportunity_stage_changed', 'closed_won', 'closed_lost',
                  'renewal', 'upsell', 'churn', 'lead_accepted', 'lead_rejected', 'lead_recycled',
                  'lead_disqualified']) as excluded_types,
        cast(getvariable('touchline_conversion_type') as varchar) as only_conversion_type
)

select * from final
