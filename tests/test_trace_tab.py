"""The console's Trace tab: its handler on both backends, and the tab in a launched Gradio app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client
from PIL import Image

from vetoflow.config import Settings
from vetoflow.console.trace_tab import render_trace_tab, trace_outputs
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

pytestmark = pytest.mark.slow  # servers, subprocesses or a browser: left out of make test-fast


def test_handler_shows_the_timeline_the_reviewer_and_the_marked_path(service: RunService, vetoed: Scenario) -> None:
    run_id = service.start(vetoed).run.run_id
    service.decide(run_id, "approve", reviewer="ana", comment="strategic bet")
    header, rows, image, mermaid, raw = trace_outputs(service, run_id)
    assert f" {run_id}: **" in header  # the id as plain text: no code span a crafted id could close
    assert "forecaster → accountant → evidence → approval → synthesizer" in header
    assert [r[1] for r in rows] == ["forecaster", "accountant", "evidence", "approval", "synthesizer"]
    assert "approve by ana at" in rows[3][5]
    assert '"strategic bet"' in rows[3][5]
    assert isinstance(image, Image.Image)
    assert image.width > 50
    assert "class forecaster,accountant,evidence,approval,synthesizer visited" in mermaid
    assert raw["steps"][3]["pause"]["reviewer"] == "ana"
    with pytest.raises(gr.Error, match="no run with id 'nope'"):
        trace_outputs(service, "nope")
    with pytest.raises(gr.Error, match="Enter a run id"):
        trace_outputs(service, "  ")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[str, RunService]]:
    with open_service(Settings(home=tmp_path / "home")) as service:
        with gr.Blocks() as demo, gr.Tab("Trace"):
            render_trace_tab(service)
        _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
        try:
            yield url, service
        finally:
            demo.close()


def test_trace_tab_in_a_launched_app(app: tuple[str, RunService], vetoed: Scenario) -> None:
    url, service = app
    run_id = service.start(vetoed).run.run_id
    client = Client(url, verbose=False)
    header, table, image, mermaid, raw = client.predict(run_id, api_name="/trace")
    assert "**paused**" in header
    assert [row[1] for row in table["data"]] == ["forecaster", "accountant", "evidence", "approval"]
    assert table["data"][3][4] == "paused"
    assert Path(image).read_bytes().startswith(b"\x89PNG")
    assert "```mermaid" in mermaid
    assert raw["next_nodes"] == ["approval"]
