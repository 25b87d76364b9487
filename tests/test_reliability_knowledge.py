"""Faults in the knowledge store: missing -> reported in the run; corrupt -> the run fails and retries."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers import CountingSynthesizer
from tests.reliability import Tally, tally
from vetoflow.config import Settings
from vetoflow.graph import Context
from vetoflow.rag.embeddings import LocalEmbeddings
from vetoflow.rag.retrieval import StoreRetriever
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

__all__ = ["tally"]


def test_missing_store_is_reported_and_the_run_completes(
    settings: Settings, profitable: Scenario, tally: Tally
) -> None:
    context = Context(synthesizer=CountingSynthesizer(), retriever=StoreRetriever(settings))
    with open_service(settings, context) as service:
        view = service.start(profitable)
    assert view.status == "completed"
    retrieval = view.state.retrieval
    assert retrieval is not None
    assert retrieval.warning is not None
    assert retrieval.sources == []
    assert retrieval.warning.startswith(f"no knowledge store at {settings.home / 'chroma'}")
    assert "No sources: no knowledge store at" in view.state.summary.text
    assert view.state.summary.grounding == []  # the path's digits are not taken for figures
    tally.record("knowledge store missing: reported in state, run completes", scenarios=1, faults=1)


def test_corrupt_store_fails_the_run_which_retries_after_repair(
    settings: Settings, profitable: Scenario, embeddings: LocalEmbeddings, tally: Tally
) -> None:
    store = settings.home / "chroma"
    store.mkdir(parents=True)
    (store / "chroma.sqlite3").write_bytes(b"this is not a database\x00" * 64)
    llm = CountingSynthesizer()
    context = Context(synthesizer=llm, retriever=StoreRetriever(settings))
    with open_service(settings, context) as service:
        failed = service.start(profitable)
        assert failed.status == "failed"
        assert f"the knowledge store at {store} cannot be read" in (failed.run.error or "")
        assert "vetoflow retry" in (failed.run.error or "")
        assert llm.calls == 0
        assert failed.state.forecast is not None  # the work before the Synthesizer is kept

        shutil.move(store, Path(str(store) + ".broken"))  # the operator moves it aside
        healed = service.retry(failed.run.run_id)
        assert healed.status == "completed"
        assert healed.state.retrieval.warning.startswith("no knowledge store")
        assert llm.calls == 1
        lost = int(len(service.list()) != 1)
    tally.record("knowledge store corrupt: run fails, retry after repair completes", scenarios=1, faults=1, lost=lost)
