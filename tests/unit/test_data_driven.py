"""Markov removal effects and Shapley values on paths small enough to solve by hand."""

import pytest

from transforms.markov import markov
from transforms.paths import ChannelPath, heuristic, parse_paths
from transforms.shapley import shapley


def test_markov_two_channels_in_series_share_equally():
    result = markov([ChannelPath(("A", "B"), 1, 100, 0), ChannelPath(("A",), 0, 0, 1)])
    assert result.conversion_probability == pytest.approx(0.5)
    assert result.removal_effects == pytest.approx({"A": 1.0, "B": 1.0})
    assert {c.channel: c.conversions for c in result.credits} == pytest.approx({"A": 0.5, "B": 0.5})


def test_markov_exact_removal_effects_solved_by_hand():
    # start→A 2, start→B 1; A→B 1, A→null 1; B→conversion 2: P = 2/3·1/2 + 1/3 = 2/3.
    # Without A: P = 1/3, effect 1/2. Without B: P = 0, effect 1.
    result = markov([ChannelPath(("A", "B"), 1, 30, 0), ChannelPath(("B",), 1, 60, 0), ChannelPath(("A",), 0, 0, 1)])
    assert result.conversion_probability == pytest.approx(2 / 3)
    assert result.removal_effects == pytest.approx({"A": 0.5, "B": 1.0})
    credits = {c.channel: (c.conversions, c.value) for c in result.credits}
    assert credits["A"] == pytest.approx((2 * 0.5 / 1.5, 90 * 0.5 / 1.5))
    assert credits["B"] == pytest.approx((2 * 1 / 1.5, 90 * 1 / 1.5))


def test_markov_ignores_repeats_of_a_channel():
    plain = markov([ChannelPath(("A", "B"), 3, 0, 1), ChannelPath(("B",), 1, 0, 2)])
    repeated = markov([ChannelPath(("A", "A", "B"), 3, 0, 1), ChannelPath(("B", "B"), 1, 0, 2)])
    assert repeated.removal_effects == pytest.approx(plain.removal_effects)


def test_shapley_splits_each_path_over_its_distinct_channels():
    credits = shapley([ChannelPath(("A", "B", "A"), 2, 100, 0), ChannelPath(("B",), 1, 50, 4),
                       ChannelPath(("C",), 0, 0, 1)])
    assert [(c.channel, c.conversions, c.value) for c in credits] == [("A", 1.0, 50.0), ("B", 2.0, 100.0)]


@pytest.mark.parametrize("model", ["first_touch", "last_touch", "linear", "position_based"])
def test_every_model_credits_sum_to_the_conversions_and_value(model):
    paths = parse_paths(["path;total_conversions;total_conversion_value;total_null",
                         "A > B > C > D;3;300;1", "B;2;50;0", "C > A;1;10;5", "D > D;0;0;3"])
    credits = heuristic(paths, model)
    assert sum(c.conversions for c in credits) == pytest.approx(6)
    assert sum(c.value for c in credits) == pytest.approx(360)
    for result in (markov(paths).credits, shapley(paths)):
        assert sum(c.conversions for c in result) == pytest.approx(6)
        assert sum(c.value for c in result) == pytest.approx(360)


def test_position_based_gives_40_percent_to_first_and_last_touch():
    (path,) = parse_paths(["A > B > C > D;1;100;0"])
    credits = {c.channel: c.conversions for c in heuristic([path], "position_based")}
    assert credits == pytest.approx({"A": 0.4, "B": 0.1, "C": 0.1, "D": 0.4})


def test_malformed_path_line_is_reported():
    with pytest.raises(ValueError, match="line 2"):
        parse_paths(["path;total_conversions;total_conversion_value;total_null", "A > B;1;2"])


def test_markov_reproduces_the_classic_three_path_worked_example():
    # The example of Sergey Bryl's Markov attribution tutorial (and the libraries tested on it):
    # C1 > C2 > C3 converts, C1 and C2 > C3 do not. P(conversion) = 1/3; removing C1 halves it,
    # removing C2 or C3 ends it; one conversion splits 0.2 / 0.4 / 0.4.
    result = markov(parse_paths(["C1 > C2 > C3;1;1000;0", "C1;0;0;1", "C2 > C3;0;0;1"]))
    assert result.conversion_probability == pytest.approx(1 / 3)
    assert result.removal_effects == pytest.approx({"C1": 0.5, "C2": 1.0, "C3": 1.0})
    assert {c.channel: c.conversions for c in result.credits} == pytest.approx({"C1": 0.2, "C2": 0.4, "C3": 0.4})
    assert {c.channel: c.value for c in result.credits} == pytest.approx({"C1": 200, "C2": 400, "C3": 400})
