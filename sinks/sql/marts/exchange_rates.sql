-- Exchange rates into the reporting currency (session variable touchline_reporting_currency):
-- one unit of `currency` is `rate` units of it from `valid_from` until the currency's next row.
-- Empty here; `touchline attribute|scorecard --rates FILE` reads a file of these columns.
-- key: currency, valid_from
select cast(null as varchar) as currency, cast(null as date) as valid_from, cast(null as double) as rate
where false
