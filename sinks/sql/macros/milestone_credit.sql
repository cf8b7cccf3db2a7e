-- A touch's credit under a milestone model, from its rank r among the conversion's n touches
-- and the ranks of the lead, opportunity and close milestones (null when absent).
-- Each milestone gets its weight (a touch holding several gets their sum); a missing
-- milestone's weight goes to those present, in proportion; the rest weight is split equally
-- over the other touches (for U-shaped, only those between the first and the lead touch);
-- with no such touches the milestones share everything. Credits of a conversion sum to 1.
-- Plain expressions (no subquery): DuckDB before 2.0 cannot bind a macro's subquery to the
-- calling query's columns.

-- The weight of the milestones present.
create or replace macro milestone_present(lead_r, opp_r, close_r, w_first, w_last, w_lead, w_opp, w_close) as
    w_first + w_last
        + case when lead_r is not null then w_lead else 0 end
        + case when opp_r is not null then w_opp else 0 end
        + case when close_r is not null then w_close else 0 end;

-- The weight of the milestones touch r holds.
create or replace macro milestone_own(r, n, lead_r, opp_r, close_r, w_first, w_last, w_lead, w_opp, w_close) as
    case when r = 1 then w_first else 0 end
        + case when r = n then w_last else 0 end
        + case when r = lead_r then w_lead else 0 end
        + case when r = opp_r then w_opp else 0 end
        + case when r = close_r then w_close else 0 end;

-- The ranks of the touches holding a weighted milestone.
create or replace macro milestone_ranks(n, lead_r, opp_r, close_r, w_first, w_last, w_lead, w_opp, w_close) as
    list_distinct(list_filter([
        case when w_first > 0 then 1 end, case when w_last > 0 then n end,
        case when w_lead > 0 then lead_r end, case when w_opp > 0 then opp_r end,
        case when w_close > 0 then close_r end], lambda x: x is not null));

-- How many touches share the rest weight: those holding no weighted milestone (before the lead
-- touch only, for rest_before_lead).
create or replace macro milestone_rest_count(n, lead_r, milestones, rest_before_lead) as
    case when rest_before_lead and lead_r is not null
         then lead_r - 1 - len(list_filter(milestones, lambda x: x < lead_r))
         else n - len(milestones) end;

-- The credit, from the above.
create or replace macro milestone_share(present, own, is_rest, rest_count, w_rest) as
    case
        when present = 0 then case when is_rest then 1.0 / rest_count else 0 end
        else own / present * (1 - case when rest_count > 0 then w_rest else 0 end)
            + case when is_rest then w_rest / rest_count else 0 end
    end;

create or replace macro milestone_credit(r, n, lead_r, opp_r, close_r,
                                         w_first, w_last, w_lead, w_opp, w_close, w_rest, rest_before_lead) as
    milestone_share(
        milestone_present(lead_r, opp_r, close_r, w_first, w_last, w_lead, w_opp, w_close),
        milestone_own(r, n, lead_r, opp_r, close_r, w_first, w_last, w_lead, w_opp, w_close),
        milestone_own(r, n, lead_r, opp_r, close_r, w_first, w_last, w_lead, w_opp, w_close) = 0
            and (not rest_before_lead or lead_r is null or r < lead_r),
        milestone_rest_count(n, lead_r, milestone_ranks(n, lead_r, opp_r, close_r, w_first, w_last, w_lead, w_opp,
                                                        w_close), rest_before_lead),
        w_rest);
