"""The causal simulator's counterfactual truth against three-channel cases solved in closed form."""

import math

import pytest

from transforms.causal import CausalSettings, ChannelEffect, effects_from, simulate
from transforms.stitching import stitch
from transforms.types import Touch


def _incremental(run, channel, stage):
    return run.truth["channels"][channel][stage]["incremental_conversions"]


def test_all_or_nothing_effects_give_the_truth_each_channel_gates():
    # No baseline; a touch of A makes a lead for sure, one of B (before the opportunity) an opportunity, one of
    # C a win; nothing else has an effect. So every lead needs A, every opportunity A and B, every win A, B
    # and C: A's incremental leads are all the leads, B's none; B's incremental wins are all the wins.
    # With no intent loading, P(some A before the lead) = 1 - exp(-rate_A) (one phase of Poisson touches);
    # B has two phases to reach an account before its opportunity, C three before the decision.
    settings = CausalSettings(accounts=3000, seed=11, baseline=(0.0, 0.0, 0.0), channels=(
        ChannelEffect("A", 0.7, lead=1.0), ChannelEffect("B", 0.4, opportunity=1.0),
        ChannelEffect("C", 0.3, closed_won=1.0)))
    run = simulate(settings)
    leads, opportunities, wins = (run.truth["conversions"][s]["conversions"] for s in ("lead", "opportunity",
                                                                                       "closed_won"))
    assert run.truth["without_any_channel"]["lead"]["conversions"] == 0
    assert [_incremental(run, "A", s) for s in ("lead", "opportunity", "closed_won")] == [leads, opportunities, wins]
    assert [_incremental(run, "B", s) for s in ("lead", "opportunity", "closed_won")] == [0, opportunities, wins]
    assert [_incremental(run, "C", s) for s in ("lead", "opportunity", "closed_won")] == [0, 0, wins]
    # the touches tell the same story: the accounts A reached are the leads
    reached = {r["account_id"] for r in run.records if r.get("channel") == "A"}
    assert len(reached) == leads == sum(r["event_type"] == "form_fill" for r in run.records)
    n = settings.accounts
    for observed, p in ((leads, 1 - math.exp(-0.7)),
                        (opportunities, (1 - math.exp(-0.7)) * (1 - math.exp(-0.8))),
                        (wins, (1 - math.exp(-0.7)) * (1 - math.exp(-0.8)) * (1 - math.exp(-0.9)))):
        assert abs(observed - n * p) < 4 * math.sqrt(n * p * (1 - p)), (observed, n * p)
    assert run.truth["channels"]["C"]["closed_won"]["incremental_revenue"] == run.truth["conversions"]["closed_won"][
        "revenue"]


def test_partial_effects_match_their_expected_increment():
    # One stage: lead with baseline b = 0.1 and no intent. Per touch A removes 30% of the chance to stay
    # unconverted, B 20%, C nothing; Poisson exposure gives E[(1 - e)^n] = exp(-rate · e). So
    #   P(lead) = 1 - (1 - b) exp(-rate_A e_A - rate_B e_B), and A's expected increment per account is
    #   (1 - b) [exp(-rate_B e_B) - exp(-rate_A e_A - rate_B e_B)]; C's is exactly 0 for every seed.
    b, (ra, ea), (rb, eb) = 0.1, (1.0, 0.3), (0.5, 0.2)
    settings = CausalSettings(accounts=8000, seed=5, baseline=(b, 0.0, 0.0), intent_on_baseline=0.0, channels=(
        ChannelEffect("A", ra, lead=ea), ChannelEffect("B", rb, lead=eb), ChannelEffect("C", 2.0)))
    run = simulate(settings)
    n = settings.accounts
    expected = {"A": (1 - b) * (math.exp(-rb * eb) - math.exp(-ra * ea - rb * eb)),
                "B": (1 - b) * (math.exp(-ra * ea) - math.exp(-ra * ea - rb * eb))}
    for channel, p in expected.items():
        observed = _incremental(run, channel, "lead")
        assert abs(observed - n * p) < 4 * math.sqrt(n * p * (1 - p)), (channel, observed, n * p)
    assert _incremental(run, "C", "lead") == 0
    total = 1 - (1 - b) * math.exp(-ra * ea - rb * eb)
    assert abs(run.truth["conversions"]["lead"]["conversions"] - n * total) < 4 * math.sqrt(n * total * (1 - total))


def test_the_same_seed_gives_the_same_run_and_intent_drives_exposure():
    settings = CausalSettings(accounts=400, seed=3)
    assert simulate(settings) == simulate(settings)
    assert simulate(CausalSettings(accounts=400, seed=4)).truth != simulate(settings).truth


def test_the_touches_stitch_into_journeys_with_the_intended_milestones():
    run = simulate(CausalSettings(accounts=300, seed=2))
    rows = stitch([Touch.from_wire(r) for r in run.records]).rows
    leads = [r for r in rows if r.is_lead_touch]
    assert len(leads) == run.truth["conversions"]["lead"]["conversions"]
    assert all(r.touch.event_type == "form_fill" for r in leads)
    assert sum(r.touch.event_type == "closed_won" and r.stage == "grow" for r in rows) == run.truth["conversions"][
        "closed_won"]["conversions"]


def test_an_effects_file_is_checked_field_by_field():
    settings = effects_from({"baseline": {"lead": 0.2}, "channels": {"x": {"rate": 1, "lead": 0.5}}})
    assert settings.baseline[0] == 0.2 and settings.channels == (ChannelEffect("x", 1, lead=0.5),)
    with pytest.raises(ValueError, match=r"channels\.x\.lead"):
        effects_from({"channels": {"x": {"rate": 1, "lead": 1.5}}})
    with pytest.raises(ValueError, match=r"channels\.x: unknown field\(s\) colour"):
        effects_from({"channels": {"x": {"rate": 1, "colour": "red"}}})
    with pytest.raises(ValueError, match="needs an object"):
        effects_from({"channels": {"x": 3}})
