"""An Idempotency-Key whose request was cut short by a database outage is free again once the database is
back, at this process and at any other, without waiting for the claim to go stale (ten minutes); a claim
taken over meanwhile stays its new owner's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.tcp_proxy import TcpProxy, proxied_database
from vetoflow.config import Settings
from vetoflow.errors import DecisionConflictError
from vetoflow.graph import Context
from vetoflow.runs.idempotency import IdempotencyStore, fingerprint
from vetoflow.runs.store import open_service

pytestmark = pytest.mark.slow  # each waits out a checkout timeout while the database is away

KEY = "start-once"
PRINT = fingerprint("/runs", {"scenario": "outage"})


@contextmanager
def _two_processes(postgres_url: str, tmp_path: Path) -> Iterator[tuple[IdempotencyStore, IdempotencyStore, TcpProxy]]:
    """`here` reaches the database through a proxy the test cuts; `elsewhere` (another API process) directly."""
    settings = Settings(home=tmp_path / "home", database_url=postgres_url)
    with (
        open_service(settings, Context()) as other,
        proxied_database(postgres_url) as (proxy, through),
        open_service(settings.model_copy(update={"database_url": through}), Context()) as this,
    ):
        yield this.idempotency, other.idempotency, proxy


def _cut_short(here: IdempotencyStore, proxy: TcpProxy) -> None:
    """A request claimed the key, then the database went away: its 503 could not free the key."""
    assert here.claim("ana", KEY, PRINT) is None
    proxy.cut()
    here.release_soon("ana", KEY)


def _released(store: IdempotencyStore, within: float) -> None:
    deadline = time.monotonic() + within
    while store.unreleased and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store.unreleased == 0


def test_a_key_its_request_could_not_release_is_free_at_another_process_once_the_database_is_back(
    postgres_url: str, tmp_path: Path
) -> None:
    with _two_processes(postgres_url, tmp_path) as (here, elsewhere, proxy):
        _cut_short(here, proxy)
        assert here.unreleased == 1
        proxy.restore()
        elsewhere.wait_seconds = 20.0  # well short of the ten minutes that make a claim stale
        assert elsewhere.claim("ana", KEY, PRINT) is None, "the repeat owns the key"
        assert here.unreleased == 0


def test_a_key_its_request_could_not_release_is_free_at_the_same_process_at_its_next_claim(
    postgres_url: str, tmp_path: Path
) -> None:
    with _two_processes(postgres_url, tmp_path) as (here, _elsewhere, proxy):
        _cut_short(here, proxy)
        proxy.restore()
        here.wait_seconds = 0.0  # no waiting for the background retry: the claim itself releases first
        assert here.claim("ana", KEY, PRINT) is None


def test_a_claim_taken_over_while_its_first_owner_was_cut_off_is_not_released_by_that_owner(
    postgres_url: str, tmp_path: Path
) -> None:
    with _two_processes(postgres_url, tmp_path) as (here, elsewhere, proxy):
        _cut_short(here, proxy)
        elsewhere.stale_after = 0.0  # the outage outlasted the claim: another process takes the key over
        assert elsewhere.claim("ana", KEY, PRINT) is None
        elsewhere.stale_after = 600.0
        proxy.restore()
        _released(here, within=20.0)  # the late release ran, and left the new owner's claim alone
        elsewhere.wait_seconds = 0.0
        with pytest.raises(DecisionConflictError, match="still in progress"):
            elsewhere.claim("ana", KEY, PRINT)
