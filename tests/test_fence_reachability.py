"""How a lapsed fence reads its lapse: an outage (retry shortly, 503) when the renewals cannot reach the
database, a takeover or a pause (409) when they can. Renewals take turns on one ticker, so one renewal the
database keeps waiting holds up every lease of the process: all of them read their lapse as the outage."""

from __future__ import annotations

import pytest

from vetoflow.errors import LeaseLostError, LeaseOutageError
from vetoflow.fencing import MARGIN, Fence, Reachability

TTL = 3.0
LAPSED = TTL * (1 - MARGIN) + 0.1  # seconds without a renewal after which a fence stops its executor


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def fences(clock: Clock, count: int) -> tuple[Reachability, list[Fence]]:
    database = Reachability(clock)
    return database, [Fence(f"run-{i}", "vm:1:abc", TTL, clock, database) for i in range(count)]


def test_one_renewal_left_waiting_makes_every_lapse_of_the_process_an_outage() -> None:
    clock = Clock()
    database, (waiting, queued_behind) = fences(clock, 2)
    database.asking()  # the first fence's renewal goes out; the pool waits for a connection that never comes
    clock.now += LAPSED
    for fence in (waiting, queued_behind):
        with pytest.raises(LeaseOutageError, match="could not be reached to renew its lease"):
            fence.check()


def test_a_renewal_answered_within_the_margin_is_no_outage() -> None:
    clock = Clock()
    database, (fence,) = fences(clock, 1)
    clock.now += LAPSED - 0.2  # a paused process: no renewal went out while it slept
    database.asking()
    clock.now += TTL * MARGIN / 2  # the fence checks while the renewal, just sent, waits for its answer
    with pytest.raises(LeaseLostError, match="could not be renewed for"):
        fence.check()


def test_a_renewal_that_failed_is_an_outage_until_one_succeeds() -> None:
    clock = Clock()
    database, (fence,) = fences(clock, 1)
    database.asking()
    fence.renewal_failed()
    clock.now += LAPSED
    with pytest.raises(LeaseOutageError):
        fence.check()
    fence.renewed(True, database.asking())  # the database is back and the lease still ours
    fence.check()


def test_a_renewal_that_found_another_owner_is_a_takeover_even_after_an_outage() -> None:
    clock = Clock()
    database, (fence,) = fences(clock, 1)
    fence.renewal_failed()
    fence.renewed(False, database.asking())
    with pytest.raises(LeaseLostError, match="another executor took it over"):
        fence.check()
