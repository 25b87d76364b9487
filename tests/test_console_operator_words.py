"""The operator tabs speak plainly; the keys, the model and the exception class wait under "Details".

Plain functions over runs the product made and over a real store with the packaged embedding model.
"""

from __future__ import annotations

from pathlib import Path

from tests.helpers import CountingSynthesizer
from tests.rag_helpers import KNOWLEDGE, store_in
from vetoflow.config import Settings
from vetoflow.console.charts import tornado_chart
from vetoflow.console.knowledge_base import NOT_LOADED, SUBSTITUTE_MODEL, KnowledgeBase, query, source_rows
from vetoflow.console.present import error_details, headline, history_rows, reasons
from vetoflow.console.run_evidence import evidence
from vetoflow.console.words import input_label, plain_error
from vetoflow.graph import Context
from vetoflow.plaintext import md
from vetoflow.rag.embedding_model import FALLBACK_PACKAGE
from vetoflow.rag.embeddings import LocalEmbeddings
from vetoflow.rag.ingest import ingest
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

DEVELOPER_WORDS = ("embedding", "VETOFLOW_", "MiniLM", "FALLBACK", "cosine", "collection", "dims", FALLBACK_PACKAGE)


def test_a_substitute_search_model_is_plain_words_for_operators_and_loud_in_the_details(
    tmp_path: Path, embeddings: LocalEmbeddings
) -> None:
    assert embeddings.resolved.fallback, "the packaged model stands in for bge-small on a machine without it"
    settings, store = store_in(tmp_path / "home", embeddings)
    ingest(store, [KNOWLEDGE / "retail-kiosks-pilot.md"], max_bytes=10**6)
    kb = KnowledgeBase(settings)
    assert (kb.search_note(), kb.model_note()) == ("", NOT_LOADED)  # nothing loaded: nothing to warn about yet

    assert source_rows(kb)  # opens the store with the configured model: the fallback here
    note = kb.search_note()
    assert note == SUBSTITUTE_MODEL
    assert "substitute" in note
    assert "less precise" in note
    assert "administrator" in note
    assert not [word for word in DEVELOPER_WORDS if word.lower() in note.lower()]
    details = kb.model_note()
    assert details.startswith("⚠️ **FALLBACK embedding model `sentence-transformers/all-MiniLM-L6-v2`**")
    assert FALLBACK_PACKAGE in details
    assert "`VETOFLOW_EMBEDDING_MODEL`" in details
    assert f"({embeddings.dimension} dims)" in details
    assert f"collection `{store.name}`" in details

    header, hits = query(kb, "Why did the kiosk pilot fail?", 2)
    assert header == f"{len(hits)} passage(s) closest in meaning to the question, best match first."
    assert hits[0].source.endswith("retail-kiosks-pilot.md")


def test_a_failed_run_says_what_went_wrong_and_keeps_the_exception_for_developers(
    tmp_path: Path, profitable: Scenario
) -> None:
    settings = Settings(home=tmp_path / "home", database_url=None)
    with open_service(settings, Context(synthesizer=CountingSynthesizer(fail_first=1))) as service:
        view = service.start(profitable)
    assert view.status == "failed"
    assert view.run.error == "RuntimeError: synthetic failure #1"
    shown = headline(view)
    assert f"It stopped with an error:** {md('synthetic failure #1')}." in shown
    assert "An administrator can resume it" in shown
    assert "RuntimeError" not in shown
    assert "vetoflow retry" not in shown
    details = error_details(view)
    assert md("RuntimeError: synthetic failure #1") in details
    assert f"vetoflow retry {view.run.run_id}" in details


def test_revisions_sensitivity_and_veto_rules_read_in_words_not_state_keys(
    service: RunService, vetoed: Scenario
) -> None:
    rules = Scenario.model_validate(vetoed.model_dump() | {"veto_policy": {"any_of": ["roi", "loss_probability"]}})
    started = service.start(rules).run
    assert started.veto_reason is not None  # what the inbox's "why vetoed" shows: said by the core, in words
    assert started.veto_reason.startswith("Vetoed: ")
    assert (
        "the veto policy, any of (ROI (P50), probability of loss), vetoes when any rule fails." in started.veto_reason
    )
    run = started.run_id
    overrides = {"investment": 900_000.0, "segments.Kiosks.margin": 0.9}
    view = service.decide(run, "revise", reviewer="ana", comment="cheaper kiosks", overrides=overrides)

    changes = "investment → 900,000; Kiosks: margin → 0.9"
    assert history_rows(view)[0][4] == changes
    assert f"Revision 1 by ana**: {md(changes)}" in evidence(view)
    assert "veto policy any of (ROI (P50), probability of loss)." in reasons(view)
    assert view.state.forecast is not None
    labels = list(tornado_chart(view.state.forecast.sensitivity).data[0].y)
    assert {"Kiosks: margin", "Accessories: base revenue", "discount rate per period"} <= set(labels)
    assert not [label for label in labels if "segments." in label or "_" in label]


def test_keys_and_errors_become_operator_words() -> None:
    assert input_label("segments.Shop v2.1.growth_mean") == "Shop v2.1: growth"  # a segment name may hold dots
    assert input_label("loss_limit") == "loss limit"
    assert plain_error("RuntimeError: boom") == "boom"
    assert plain_error("botocore.exceptions.ClientError: throttled: slow down") == "throttled: slow down"
    assert plain_error("KeyError: ") == "no message"
    assert plain_error("Bedrock said: no") == "Bedrock said: no"  # only an exception class is taken off
