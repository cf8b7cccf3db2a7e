"""The clock lead SLAs are judged on: one account's clock running ahead cannot move it."""

from datetime import UTC, datetime, timedelta

from transforms.event_clock import AccountClock

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_one_account_alone_never_moves_the_clock():
    clock = AccountClock()
    clock.add("acct-a", T0)
    assert clock.time is None
    clock.add("acct-a", T0 + timedelta(days=2))  # a device 48 h ahead
    assert clock.time is None
    clock.add("acct-b", T0 + timedelta(hours=1))
    assert clock.time == T0 + timedelta(hours=1)
    clock.add("acct-a", T0 + timedelta(days=30))
    assert clock.time == T0 + timedelta(hours=1)


def test_the_clock_is_the_time_two_accounts_have_reached_and_only_moves_forward():
    clock = AccountClock()
    times = []
    for hour, account in [(1, "a"), (2, "b"), (3, "c"), (1, "d"), (50, "c"), (4, "a"), (5, "b"), (2, "e")]:
        clock.add(account, T0 + timedelta(hours=hour))
        times.append(clock.time)
    reached = [None, 1, 2, 2, 2, 4, 5, 5]  # the second newest of the accounts' newest times
    assert times == [None if h is None else T0 + timedelta(hours=h) for h in reached]


def test_the_clock_restores_from_what_it_saved():
    clock = AccountClock()
    for hour, account in [(1, "a"), (9, "b"), (4, "c")]:
        clock.add(account, T0 + timedelta(hours=hour))
    restored = AccountClock(clock.newest)
    assert restored.time == clock.time == T0 + timedelta(hours=4)
