"""The real ChatBedrockConverse + botocore stack against a loopback server speaking Bedrock Converse."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.bedrock_server import BedrockServer, converse_reply, error
from tests.rag_helpers import KNOWLEDGE, decided_state, store_in
from tests.reliability import Tally, tally
from vetoflow.config import Settings
from vetoflow.context import Context
from vetoflow.errors import TransientLLMError, VetoflowError
from vetoflow.llm.bedrock import BedrockSynthesizer
from vetoflow.llm.offline import OfflineSynthesizer
from vetoflow.rag.embeddings import LocalEmbeddings
from vetoflow.rag.ingest import ingest
from vetoflow.rag.retrieval import StoreRetriever
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.runtime import make_context
from vetoflow.scenario import Scenario

pytestmark = pytest.mark.slow  # servers, subprocesses or a browser: left out of make test-fast

MODEL = "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"

__all__ = ["tally"]


def synth(server: BedrockServer, **overrides: object) -> BedrockSynthesizer:
    settings = Settings(bedrock_max_attempts=2, bedrock_timeout=5, **overrides)  # type: ignore[arg-type]
    return BedrockSynthesizer(settings, endpoint_url=server.url)


@pytest.fixture
def rag_service(
    settings: Settings, bedrock: BedrockServer, embeddings: LocalEmbeddings, tmp_path: Path
) -> Iterator[RunService]:
    """A service whose Synthesizer retrieves from the sample corpus and calls the fake Bedrock."""
    settings = settings.model_copy(update={"bedrock_max_attempts": 2})
    _, store = store_in(settings.home, embeddings)
    ingest(store, [KNOWLEDGE], max_bytes=10**7)
    context = Context(
        synthesizer=BedrockSynthesizer(settings, endpoint_url=bedrock.url), retriever=StoreRetriever(settings, store)
    )
    with open_service(settings, context) as service:
        yield service


def test_success_sends_the_figures_and_the_retrieved_context(rag_service: RunService, bedrock: BedrockServer) -> None:
    view = rag_service.start(_profitable())
    assert view.status == "completed", view.run.error
    request = bedrock.requests[0]
    assert request.path == "/model/eu.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
    assert request.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
    body = request.json()
    system = body["system"][0]["text"]
    state = view.state.model_dump(mode="json")  # as the prompt and the API show it
    assert '"investment": 700000.0' in system
    assert f'"roi": {state["financials"]["roi"]}' in system
    assert f'"npv": {state["financials"]["npv"]}' in system
    user = body["messages"][0]["content"][0]["text"]
    sources = state["retrieval"]["sources"]
    assert len(sources) == 4
    for source in sources:
        assert f'<document index="{source["ref"]}" source="{source["source"]}"' in user
        assert source["text"].splitlines()[-1] in user
    assert body["inferenceConfig"]["maxTokens"] == 800

    summary = state["summary"]
    assert summary["text"] == "The plan pays back [1]."
    assert summary["model"] == MODEL
    assert summary["offline"] is False
    assert summary["usage"] == {"input_tokens": 1200, "output_tokens": 180, "total_tokens": 1380}
    assert summary["cost_usd"] == pytest.approx(1200 / 1e6 * 3 + 180 / 1e6 * 15)
    assert summary["grounding"] == []
    assert state["retrieval"]["embedding_model"] == "sentence-transformers/all-MiniLM-L6-v2"


def test_validation_exception_fails_the_run_with_advice_and_retry_recovers(
    rag_service: RunService, bedrock: BedrockServer
) -> None:
    bedrock.script = [
        error(
            400,
            "ValidationException",
            "Invocation of model ID anthropic.claude-sonnet-4-5-20250929-v1:0 with on-demand throughput isn't "
            "supported. Retry your request with the ID or ARN of an inference profile that contains this model.",
        )
    ]
    failed = rag_service.start(_profitable())
    assert failed.status == "failed"
    assert bedrock.calls == 1  # a configuration error is not retried
    error_text = failed.run.error or ""
    assert "VetoflowError" in error_text
    assert f"model {MODEL} in region eu-west-1" in error_text
    assert "VETOFLOW_BEDROCK_MODEL=eu.anthropic.claude-sonnet-4-5-20250929-v1:0" in error_text
    assert failed.state.financials is not None  # nothing lost: the checkpoint holds everything before

    healed = rag_service.retry(failed.run.run_id)
    assert healed.status == "completed"
    assert healed.state.summary.model == MODEL
    assert bedrock.calls == 2


def test_access_denied_names_the_iam_permission(bedrock: BedrockServer, profitable: Scenario) -> None:
    bedrock.script = [error(403, "AccessDeniedException", "User: arn:aws:iam::1:user/x is not authorized")]
    with pytest.raises(VetoflowError) as caught:
        synth(bedrock).summarize(decided_state(profitable))
    message = str(caught.value)
    assert "bedrock:InvokeModel" in message
    assert "arn:aws:bedrock:eu-west-1::foundation-model/*" in message
    assert MODEL in message
    assert bedrock.calls == 1


def test_throttling_is_retried_by_botocore(bedrock: BedrockServer, profitable: Scenario) -> None:
    bedrock.script = [error(429, "ThrottlingException", "Too many requests")]
    summary = synth(bedrock).summarize(decided_state(profitable))
    assert summary.text == "The plan pays back [1]."
    assert bedrock.calls == 2


def test_persistent_500_is_transient_and_the_graph_retries_then_fails_retriably(
    rag_service: RunService, bedrock: BedrockServer, tally: Tally
) -> None:

    bedrock.default = error(500, "InternalServerException", "internal error")
    failed = rag_service.start(_profitable())
    assert failed.status == "failed"
    assert "TransientLLMError" in (failed.run.error or "")
    assert bedrock.calls == 2 * 4  # botocore attempts x LangGraph RetryPolicy attempts

    bedrock.default = converse_reply("Recovered [2].")
    healed = rag_service.retry(failed.run.run_id)
    assert healed.status == "completed"
    assert healed.state.summary.text == "Recovered [2]."
    lost = int(len(rag_service.list()) != 1)
    tally.record("Bedrock 5xx storm: retried, failed retriably, retry completes", scenarios=1, faults=8, lost=lost)


def test_read_timeout_is_transient(aws_env: None, profitable: Scenario) -> None:
    from tests.fakes.bedrock_server import bedrock_server

    server = bedrock_server(delay=2.0)
    try:
        client = BedrockSynthesizer(
            Settings(bedrock_timeout=0.3, bedrock_max_attempts=2, bedrock_retry_mode="standard"),
            endpoint_url=server.url,
        )
        started = time.perf_counter()
        with pytest.raises(TransientLLMError, match="Read timeout"):
            client.summarize(decided_state(profitable))
        assert time.perf_counter() - started < 2.0
        assert server.calls == 2
    finally:
        server.stop()


def test_mode_selection(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(make_context(Settings(llm="offline")).synthesizer, OfflineSynthesizer)
    assert isinstance(make_context(Settings(llm="auto")).synthesizer, BedrockSynthesizer)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert isinstance(make_context(Settings(llm="auto")).synthesizer, OfflineSynthesizer)
    with pytest.raises(VetoflowError, match="VETOFLOW_LLM=bedrock but no AWS credentials"):
        make_context(Settings(llm="bedrock"))


def test_default_model_follows_the_region_and_explicit_ids_are_kept(aws_env: None) -> None:
    from vetoflow.llm.bedrock import resolve_model_id

    assert resolve_model_id(None, "us-east-1") == "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert resolve_model_id(None, "ap-southeast-2") == "apac.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert resolve_model_id("anthropic.claude-haiku-4-5-20251001-v1:0", "eu-west-1").startswith("anthropic.")


def _profitable() -> Scenario:
    from vetoflow.scenario import load_scenario

    return load_scenario(KNOWLEDGE.parent / "profitable.yaml")
