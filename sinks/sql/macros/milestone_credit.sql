-- A touch's credit under a milestone model, from its rank r among the conversion's n touches
-- and the ranks of the lead, opportunity and close milestones (null when absent).
-- Each milestone gets its weight (a touch holding several gets their sum); a missing
-- milestone's weight goes to those present, in proportion; the rest weight is split equally
-- over the other touches (for U-shaped, only those between the first and the lead touch);
-- with no such touches the milestones share everything. Credits of a conversion sum to 1.
create or replace macro milestone_credit(r, n, lead_r, opp_r, close_r,
                                         w_first, w_last, w_lead, w_opp, w_close, w_rest, rest_before_lead) as (
    with facts as (
        select
            w_first + w_last
                + case when lead_r is not null then w_lead else 0 end
                + case when opp_r is not null then w_opp else 0 end
                + case when close_r is not null then w_close else 0 end as present,
            case when r = 1 then w_first else 0 end
                + case when r = n then w_last else 0 end
                + case when r = lead_r then w_lead else 0 end
                + case when r = opp_r then w_opp else 0 end
                + case when r = close_r then w_close else 0 end as mine,
            list_distinct(list_filter([
                case when w_first > 0 then 1 end, case when w_last > 0 then n end,
                case when w_lead > 0 then lead_r end, case when w_opp > 0 then opp_r end,
                case when w_close > 0 then close_r end], lambda x: x is not null)) as milestones
    ),
    rest as (
        select
            present, mine,
            mine = 0 and (not rest_before_lead or lead_r is null or r < lead_r) as is_rest,
            case when rest_before_lead and lead_r is not null
                 then lead_r - 1 - len(list_filter(milestones, lambda x: x < lead_r))
                 else n - len(milestones) end as rest_count
        from facts
    )
    select
        case
            when present = 0 then case when is_rest then 1.0 / rest_count else 0 end
            else mine / present * (1 - case when rest_count > 0 then w_rest else 0 end)
                + case when is_rest then w_rest / rest_count else 0 end
        end
    from rest
);
