"""Event name rules as data: the shipped defaults, a user's file over them, and what a bad file is told."""

import pytest

from schemas.event_map import EventMap, EventMapError


def test_a_users_file_adds_and_overrides_names_case_insensitively(tmp_path):
    names = tmp_path / "events.toml"
    names.write_text('[events]\n"Sales Call Logged" = { event_type = "call", team = "sdr" }\n'
                     '"trial started" = "form_fill"\n')
    loaded = EventMap.load(names)
    assert loaded.rule("SALES CALL LOGGED").event_type == "call" and loaded.rule("sales call logged").team == "sdr"
    assert loaded.event_type("Trial Started") == "form_fill"  # overrides the default trial_signup
    assert loaded.event_type("Webinar Attended") == "webinar_attended"  # the defaults stay
    assert loaded.event_type("closed_won") == "closed_won"  # Touchline's own names
    assert loaded.event_type("Pricing Viewed") == "custom:Pricing Viewed"


@pytest.mark.parametrize(("entry", "problem"), [
    ('"X" = "page_view"', "event_type 'page_view' is not a touch/1 event type"),
    ('"X" = { event_type = "call", team = "bdr" }', "team 'bdr' is not one of"),
    ('"X" = { event_type = "closed_won", properties = { revenue = "amount" } }', "properties.revenue is not a field"),
    ('"X" = { event_type = "call", colour = "red" }', "unknown keys ['colour']"),
    ('"X" = 5', "must be an event type or a table"),
])
def test_a_bad_rule_is_named_with_its_problem(tmp_path, entry, problem):
    names = tmp_path / "events.toml"
    names.write_text("[events]\n" + entry + "\n")
    with pytest.raises(EventMapError, match=r"events\.'X'") as raised:
        EventMap.load(names)
    assert problem in str(raised.value)


def test_a_file_that_is_not_toml_is_named(tmp_path):
    names = tmp_path / "events.toml"
    names.write_text("[events\n")
    with pytest.raises(EventMapError, match=r"events\.toml"):
        EventMap.load(names)
