"""The composition root: the graph context (LLM client, retriever, forecast backend) the settings ask for.

Every front end (CLI, console, API, workers) gets its clients here, custom factories included.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import replace

from vetoflow.config import Settings
from vetoflow.context import Context
from vetoflow.errors import VetoflowError
from vetoflow.forecasting.budget import SizeBudget
from vetoflow.llm.base import SummaryClient
from vetoflow.llm.capped import CappedSynthesizer
from vetoflow.llm.offline import OfflineSynthesizer
from vetoflow.rag.retrieval import StoreRetriever


def make_synthesizer(settings: Settings) -> SummaryClient:
    """offline: never call AWS. bedrock: Claude, or a clear error. auto: Bedrock only with AWS credentials."""
    if settings.llm == "offline":
        return OfflineSynthesizer()
    from vetoflow.aws import has_credentials

    if not has_credentials():
        if settings.llm == "bedrock":
            raise VetoflowError(
                "VETOFLOW_LLM=bedrock but no AWS credentials were found (environment, ~/.aws profile, SSO or "
                "container role). Configure them, or set VETOFLOW_LLM=offline for the offline summary."
            )
        return OfflineSynthesizer()
    from vetoflow.llm.bedrock import BedrockSynthesizer

    return BedrockSynthesizer(settings)


def load_context_factory(spec: str) -> Callable[[Settings], Context]:
    """`package.module:function`, a function of Settings returning the graph Context (custom clients)."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise VetoflowError(f"VETOFLOW_CONTEXT_FACTORY: {spec!r} must look like 'package.module:function'")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise VetoflowError(f"VETOFLOW_CONTEXT_FACTORY: cannot load {spec!r}: {exc}") from None
    if not callable(factory):
        raise VetoflowError(f"VETOFLOW_CONTEXT_FACTORY: {spec!r} is not callable")
    return factory  # type: ignore[no-any-return]


def make_context(settings: Settings, llm_model: str | None = None) -> Context:
    """`llm_model` overrides the configured Bedrock model for this process only (e.g. a batch replay).

    With VETOFLOW_LLM_MAX_IN_FLIGHT the Synthesizer's client (custom factories' too) waits for one of
    that many database-wide slots around each call; unset, nothing changes.
    """
    return cap_llm(settings, _clients(settings, llm_model))


def cap_llm(settings: Settings, context: Context) -> Context:
    if not settings.llm_max_in_flight or isinstance(context.synthesizer, (OfflineSynthesizer, CappedSynthesizer)):
        return context  # no cap asked for, no LLM call to cap, or capped already (a factory calling us)
    if not settings.database_url:
        raise VetoflowError(
            "VETOFLOW_LLM_MAX_IN_FLIGHT is enforced in PostgreSQL: set VETOFLOW_DATABASE_URL=postgresql://... "
            "or unset it"
        )
    from vetoflow.db.llm_slots import llm_slots

    slots = llm_slots(settings.database_url, settings.llm_max_in_flight)
    return replace(context, synthesizer=CappedSynthesizer(context.synthesizer, slots))


def _clients(settings: Settings, llm_model: str | None) -> Context:
    if settings.context_factory and llm_model is None:
        context = load_context_factory(settings.context_factory)(settings)
        if not isinstance(context, Context):
            raise VetoflowError(f"VETOFLOW_CONTEXT_FACTORY: {settings.context_factory} did not return a Context")
        return context
    if llm_model is not None:
        settings = settings.model_copy(update={"bedrock_model": llm_model})
    synthesizer = make_synthesizer(settings)
    if llm_model is not None and isinstance(synthesizer, OfflineSynthesizer):
        raise VetoflowError(
            f"--llm-model {llm_model}: needs VETOFLOW_LLM=bedrock (with AWS credentials); "
            "the offline synthesizer has no model to change"
        )
    budget = SizeBudget(settings.max_cells, settings.max_cells_in_flight, settings.budget_wait_seconds)
    context = Context(synthesizer=synthesizer, retriever=StoreRetriever(settings), budget=budget)
    if settings.forecast_endpoint:
        from vetoflow.forecasting.endpoint import EndpointForecaster

        forecaster = EndpointForecaster(settings.forecast_endpoint, timeout=settings.forecast_timeout)
        context = replace(context, forecast=forecaster)
    return context
