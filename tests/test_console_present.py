"""The run view's renderings and the revise form's overrides, on runs the product itself made (no server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.rag_helpers import KNOWLEDGE, store_in
from vetoflow.console.decisions import revise_overrides
from vetoflow.console.present import summary
from vetoflow.errors import VetoflowError
from vetoflow.graph import Context
from vetoflow.llm.offline import OfflineSynthesizer
from vetoflow.plaintext import md
from vetoflow.rag.embeddings import LocalEmbeddings
from vetoflow.rag.ingest import ingest
from vetoflow.rag.retrieval import StoreRetriever
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario, load_scenario

SCENARIO = load_scenario(KNOWLEDGE.parent / "profitable.yaml")


def test_run_view_lists_the_sources_the_summary_cites(
    tmp_path: Path, embeddings: LocalEmbeddings, profitable: Scenario
) -> None:
    settings, store = store_in(tmp_path / "home", embeddings)
    ingest(store, [KNOWLEDGE], max_bytes=10**6)
    context = Context(synthesizer=OfflineSynthesizer(), retriever=StoreRetriever(settings, store))
    with open_service(settings, context) as service:
        view = service.start(profitable)
    assert view.state.retrieval is not None
    assert view.state.retrieval.sources
    text = summary(view)
    assert "**Sources**" in text
    for source in view.state.retrieval.sources:
        assert md(f"{source.ref}. {source.source}") in text
        assert md(source.title) in text


def test_a_paused_run_says_the_summary_comes_after_the_decision(service: RunService, vetoed: Scenario) -> None:
    view = service.start(vetoed)
    assert view.status == "paused"
    assert "No summary yet" in summary(view)


def test_revise_overrides_are_only_what_changed() -> None:
    segment = SCENARIO.segments[0]
    table = [[segment.name, segment.base_revenue, segment.growth_mean, segment.volatility, 0.25]]
    top = {"investment": SCENARIO.investment, "horizon": SCENARIO.horizon + 2, "discount_rate": SCENARIO.discount_rate}
    assert revise_overrides(SCENARIO, top, table) == {
        "horizon": SCENARIO.horizon + 2,
        f"segments.{segment.name}.margin": 0.25,
    }


@pytest.mark.parametrize(
    ("top", "table", "expected"),
    [
        ({"horizon": 8.5}, [], "horizon: must be a whole number"),
        ({"investment": "lots"}, [], "investment: 'lots' is not a number"),
        ({}, [[SCENARIO.segments[0].name, 10.0, 0.0, 0.1, "inf"]], "must be a finite number"),
        ({}, [["Vending", 1, 0, 0, 0]], "no segment named 'Vending'"),
        ({"investment": SCENARIO.investment}, [], "change at least one assumption"),
    ],
)
def test_revise_form_errors_name_the_field(top: dict[str, Any], table: list[list[Any]], expected: str) -> None:
    with pytest.raises(VetoflowError, match=expected):
        revise_overrides(SCENARIO, top, table)


def test_names_and_summaries_render_as_plain_text_without_remote_images(
    service: RunService, profitable: Scenario
) -> None:
    hostile = profitable.model_copy(update={"name": "![x](http://127.0.0.1:9/leak.png?npv=1) **bold** [/]"})
    view = service.start(hostile)
    assert view.status == "completed"
    text = summary(view)
    assert view.state.summary is not None
    assert "leak.png" in view.state.summary.text  # the offline summary names the plan
    assert "![x](http" not in text  # escaped: shown, never fetched
    assert "**bold**" not in text
