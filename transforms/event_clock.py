"""The event-time clock that lead SLAs are judged on: a time the accounts agree has passed.

The newest event time of a partition is not it: one device whose clock runs two days ahead (or
one import row dated next year) would carry it forward, and every other account's open lead
would be flagged at once. This clock is the newest time that at least ``quorum`` different
accounts have reached, so one account's touches alone can never move it. It only moves forward.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

QUORUM = 2


class AccountClock:
    """The ``quorum``-th newest of the accounts' newest event times."""

    def __init__(self, times: Iterable[tuple[datetime, str]] = (), quorum: int = QUORUM) -> None:
        """The clock of accounts' event times, (time, account), in any order and any number per account."""
        self.quorum = quorum
        #: The ``quorum`` accounts with the newest times, newest first: (time, account).
        self.newest: list[tuple[datetime, str]] = []
        for at, account in times:
            self.add(account, at)

    def add(self, account: str, at: datetime) -> None:
        """An account reached event time ``at``."""
        for index, (time, known) in enumerate(self.newest):
            if known == account:
                if at > time:
                    self.newest[index] = (at, account)
                    self.newest.sort(reverse=True)
                return
        if len(self.newest) < self.quorum or at > self.newest[-1][0]:
            self.newest = sorted([*self.newest, (at, account)], reverse=True)[:self.quorum]

    @property
    def time(self) -> datetime | None:
        """The clock: None until ``quorum`` accounts have been seen."""
        return self.newest[-1][0] if len(self.newest) == self.quorum else None
