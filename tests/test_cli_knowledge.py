"""`vetoflow ingest`, `sources` and a Bedrock-backed `run`/`show`, each in its own process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import env_for
from tests.fakes.bedrock_server import BedrockServer, converse_reply
from vetoflow.config import Settings

pytestmark = pytest.mark.slow  # servers, subprocesses or a browser: left out of make test-fast


EXAMPLES = Path(__file__).resolve().parent.parent / "vetoflow" / "examples"


def vetoflow(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vetoflow", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_ingest_reports_bad_files_and_sources_lists_and_removes(tmp_path: Path) -> None:
    env = env_for(Settings(home=tmp_path / "home", database_url=None))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kiosks.md").write_text("# Kiosks\n\nMall leases are long.")
    (docs / "empty.txt").write_text("")
    (docs / "blob.pdf").write_bytes(b"\x00\x01 not a pdf")

    first = vetoflow(env, "ingest", docs)
    assert first.returncode == 0, first.stderr
    assert "FALLBACK sentence-transformers/all-MiniLM-L6-v2" in first.stderr
    assert f"skipped {docs / 'empty.txt'}: empty" in first.stderr
    assert f"skipped {docs / 'blob.pdf'}: unreadable PDF" in first.stderr
    assert "1 chunk(s) added from 1 new or changed file(s)" in first.stdout

    again = json.loads(vetoflow(env, "ingest", docs / "kiosks.md", "--json").stdout)
    assert again["added"] == {}
    assert again["unchanged"] == [str((docs / "kiosks.md").resolve())]
    assert again["chunks_in_store"] == 1

    listed = json.loads(vetoflow(env, "sources", "--json").stdout)
    assert [(Path(r["source"]).name, r["title"], r["chunks"]) for r in listed] == [("kiosks.md", "Kiosks", 1)]
    removed = vetoflow(env, "sources", "--remove", "kiosks.md")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(vetoflow(env, "sources", "--json").stdout) == []

    nothing = vetoflow(env, "ingest", docs / "empty.txt")
    assert nothing.returncode == 1
    assert "Error: no file could be ingested" in nothing.stderr


def test_run_on_bedrock_shows_sources_tokens_and_cost(tmp_path: Path, bedrock: BedrockServer) -> None:
    bedrock.default = converse_reply("Strong SMB growth [1] and a 115.3% ROI; revenue of 9.9 million [2].")
    env = env_for(Settings(home=tmp_path / "home", database_url=None))
    env |= {"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock.url, "VETOFLOW_LLM": "bedrock"}
    assert vetoflow(env, "ingest", EXAMPLES / "knowledge", "--json").returncode == 0

    started = vetoflow(env, "run", EXAMPLES / "profitable.yaml", "--json")
    assert started.returncode == 0, started.stderr
    run_id = json.loads(started.stdout)["run"]["run_id"]
    assert bedrock.calls == 1

    shown = vetoflow(env, "show", run_id)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "Summary (eu.anthropic.claude-sonnet-4-5-20250929-v1:0)" in out
    assert "Sources (embedded with sentence-transformers/all-MiniLM-L6-v2)" in out
    assert "nordic-saas-smb.md" in out
    assert "numbers matching no figure of this run: 9.9 million" in out
    assert "Tokens: 1,200 in, 180 out; estimated cost $0.0063; region eu-west-1" in out


def test_bedrock_without_credentials_is_a_clear_error(tmp_path: Path) -> None:
    env = {k: v for k, v in env_for(Settings(home=tmp_path, database_url=None)).items() if not k.startswith("AWS_")}
    env |= {
        "VETOFLOW_LLM": "bedrock",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
    }
    result = vetoflow(env, "run", EXAMPLES / "profitable.yaml")
    assert result.returncode == 1
    assert "Error: VETOFLOW_LLM=bedrock but no AWS credentials were found" in result.stderr
    assert "Traceback" not in result.stderr


def test_offline_demo_summary_says_so_and_cites_the_corpus(tmp_path: Path) -> None:
    env = env_for(Settings(home=tmp_path / "home", database_url=None)) | {"VETOFLOW_LLM": "offline"}
    assert vetoflow(env, "ingest", EXAMPLES / "knowledge").returncode == 0
    started = vetoflow(env, "run", EXAMPLES / "with_history.yaml", "--json")
    summary = json.loads(started.stdout)["state"]["summary"]
    assert summary["offline"] is True
    assert summary["text"].startswith("[offline summary")
    assert "Sources: [1] Coffee" in summary["text"]
    assert summary["grounding"] == []
