"""VETOFLOW_LLM_MAX_IN_FLIGHT: a database-wide cap on concurrent LLM calls, held in PostgreSQL advisory locks."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.api_support import wait_for
from tests.conftest import ROOT
from tests.fakes.bedrock_server import BedrockServer
from vetoflow.config import Settings
from vetoflow.db.llm_slots import llm_slots
from vetoflow.errors import VetoflowError
from vetoflow.llm.capped import CappedSynthesizer
from vetoflow.runs.store import open_service
from vetoflow.runtime import make_context
from vetoflow.scenario import Scenario


def test_runs_in_many_threads_never_exceed_the_cap_at_the_llm(
    postgres_url: str, tmp_path: Path, bedrock: BedrockServer, profitable: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock.url)
    bedrock.delay = 0.3
    settings = Settings(home=tmp_path / "home", database_url=postgres_url, llm="bedrock", llm_max_in_flight=2)
    context = make_context(settings)
    assert isinstance(context.synthesizer, CappedSynthesizer)
    small = profitable.model_copy(update={"paths": 100})
    with open_service(settings, context) as service, ThreadPoolExecutor(6) as pool:
        views = list(pool.map(lambda i: service.start(small.model_copy(update={"name": f"c{i}"})), range(6)))
    assert [view.status for view in views] == ["completed"] * 6
    assert bedrock.calls == 6
    assert bedrock.max_in_flight == 2  # reached, never passed
    assert llm_slots(postgres_url, 2).in_use() == 0  # every slot given back


def test_a_killed_process_gives_its_slot_back(postgres_url: str) -> None:
    holder = (
        "import sys, time; from vetoflow.db.llm_slots import llm_slots\n"
        "with llm_slots(sys.argv[1], 1).held():\n    print('held', flush=True); time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", holder, postgres_url], cwd=ROOT, stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == b"held"
        slots = llm_slots(postgres_url, 1)
        assert slots.in_use() == 1
        process.kill()
        process.wait(timeout=10)
        wait_for(lambda: slots.in_use() == 0, timeout=10, what="the dead session's slot to be freed")
        with slots.held() as slot:
            assert slot == 0
    finally:
        process.kill()


def test_without_the_setting_nothing_is_wrapped_and_sqlite_refuses_the_cap(tmp_path: Path) -> None:
    inline = Settings(home=tmp_path / "home", database_url=None, llm="offline")
    assert not isinstance(make_context(inline).synthesizer, CappedSynthesizer)
    offline = inline.model_copy(update={"llm_max_in_flight": 4})
    assert not isinstance(make_context(offline).synthesizer, CappedSynthesizer)  # no LLM call to cap


def test_the_cap_on_sqlite_is_refused_with_what_to_set(tmp_path: Path, bedrock: BedrockServer) -> None:
    settings = Settings(home=tmp_path / "home", database_url=None, llm="bedrock", llm_max_in_flight=4)
    with pytest.raises(VetoflowError, match="VETOFLOW_LLM_MAX_IN_FLIGHT is enforced in PostgreSQL"):
        make_context(settings)
