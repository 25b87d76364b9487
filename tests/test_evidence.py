"""Evidence before the decision: the knowledge-base sources are in state, the approval payload, `show`, the
API's run JSON and the console run view while the run waits; the Synthesizer reuses them."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from tests.helpers import CountingSynthesizer
from tests.rag_helpers import KNOWLEDGE, store_in
from vetoflow import render
from vetoflow.api.schemas import RunOut
from vetoflow.console import run_evidence
from vetoflow.graph import Context
from vetoflow.rag.embeddings import LocalEmbeddings
from vetoflow.rag.ingest import ingest
from vetoflow.rag.retrieval import StoreRetriever
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario
from vetoflow.state import Retrieval, RunState


class CountedRetriever(StoreRetriever):
    """The real store retriever, counting its searches."""

    calls = 0

    def retrieve(self, state: RunState) -> Retrieval | None:
        self.calls += 1
        return super().retrieve(state)


def shown(renderable: object) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=200).print(renderable)
    return buffer.getvalue()


def test_a_paused_run_shows_its_sources_before_any_decision_and_the_summary_reuses_them(
    tmp_path: Path, embeddings: LocalEmbeddings, vetoed: Scenario
) -> None:
    settings, store = store_in(tmp_path / "home", embeddings)
    ingest(store, [KNOWLEDGE], max_bytes=10**6)
    retriever, llm = CountedRetriever(settings, store), CountingSynthesizer()
    with open_service(settings, Context(synthesizer=llm, retriever=retriever)) as service:
        paused = service.start(vetoed)
        assert paused.status == "paused"
        assert (retriever.calls, llm.calls) == (1, 0), "retrieved before the pause; no LLM call before approval"
        retrieval = paused.state.retrieval
        assert retrieval is not None
        assert retrieval.sources
        assert paused.pending is not None
        sources = paused.pending.sources
        assert [s.title for s in sources] == [s.title for s in retrieval.sources[:5]]
        assert all(s.text for s in sources)
        assert any("kiosk" in s.text.lower() for s in sources)

        api_json = RunOut.of(paused).model_dump(mode="json")
        assert api_json["pending"]["sources"] == [s.model_dump(mode="json") for s in sources]
        terminal = shown(render.run_panel(paused))
        assert "Evidence from the knowledge base" in terminal
        assert sources[0].title in terminal
        console_text = run_evidence.evidence(paused)
        assert "Evidence from the knowledge base" in console_text
        assert "<" not in console_text.replace("\\<", "")

        done = service.decide(paused.run.run_id, "approve", reviewer="ana")
    assert done.status == "completed"
    assert (retriever.calls, llm.calls) == (1, 1), "the Synthesizer reused the stored evidence"
    assert done.state.retrieval == retrieval
    assert done.state.summary is not None
    assert "Sources: [1]" in done.state.summary.text


def test_without_a_knowledge_base_the_pause_says_so(tmp_path: Path, vetoed: Scenario) -> None:
    from vetoflow.config import Settings

    settings = Settings(home=tmp_path / "home", database_url=None)
    with open_service(settings, Context(retriever=StoreRetriever(settings))) as service:
        paused = service.start(vetoed)
    assert paused.pending is not None
    assert paused.pending.sources == []
    assert paused.state.retrieval is not None
    assert paused.state.retrieval.warning is not None
    assert "No documents from the knowledge base" in run_evidence.evidence(paused)
