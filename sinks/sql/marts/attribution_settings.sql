-- The attribution settings of this session, from DuckDB variables (defaults in brackets):
-- touchline_lookback_days [365]; touchline_excluded_types [the CRM lifecycle events, which
-- are conversions rather than touches].
with final as (
    select
        coalesce(getvariable('touchline_lookback_days'), 365) as lookback_days,
        coalesce(getvariable('touchline_excluded_types'),
                 ['opportunity_created', 'opportunity_stage_changed', 'closed_won', 'closed_lost',
                  'renewal', 'upsell', 'churn']) as excluded_types
)

select * from final
