"""Batch replay of saved runs `--from synthesizer` against an LLM on loopback answering each call after 300 ms.

Prints wall time against the ideal (runs x delay / concurrency) as a ratio, at concurrency 1 and 16.
Aim: within 1.5x of ideal at 16.

The LLM is a SummaryClient talking real HTTP to a loopback server speaking the Bedrock Converse wire
format (POST /model/{id}/converse, JSON body with output/usage/metrics). `make_client()` is the one place
to switch to the real Bedrock client once it is merged: `--client bedrock` uses
`vetoflow.llm.bedrock.BedrockSynthesizer` with `endpoint_url` pointed at the same loopback server.

Usage: python bench/batch_replay.py [--runs 200] [--delay 0.3] [--concurrency 1 16] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from vetoflow.config import Settings
from vetoflow.llm.base import SummaryClient
from vetoflow.replay import batch
from vetoflow.replay.report import BatchOptions, Report
from vetoflow.runs.store import open_service
from vetoflow.scenario import load_scenario
from vetoflow.state import RunState, Summary

ROOT = Path(__file__).resolve().parent.parent
MODEL = "us.anthropic.claude-bench-v1"


class ConverseHandler(BaseHTTPRequestHandler):
    """Answers every Converse call after `server.delay` seconds, like a model with a fixed latency."""

    server: LoopbackBedrock

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        time.sleep(self.server.delay)
        body = json.dumps(
            {
                "output": {"message": {"role": "assistant", "content": [{"text": "Replayed summary [1]."}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 1200, "outputTokens": 180, "totalTokens": 1380},
                "metrics": {"latencyMs": int(self.server.delay * 1000)},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


class LoopbackBedrock(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, delay: float) -> None:
        super().__init__(("127.0.0.1", 0), ConverseHandler)
        self.delay = delay
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class LoopbackConverseClient:
    """A minimal Converse client over plain HTTP (no SigV4): stands in until the Bedrock client is merged."""

    name = "loopback-converse"

    def __init__(self, url: str, model: str = MODEL) -> None:
        self.url, self.model = url, model

    def summarize(self, state: RunState) -> Summary:
        payload = {"messages": [{"role": "user", "content": [{"text": f"Summarise {state.scenario.name}"}]}]}
        request = urllib.request.Request(
            f"{self.url}/model/{self.model}/converse",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            reply = json.load(response)
        usage = reply["usage"]
        return Summary(
            text=reply["output"]["message"]["content"][0]["text"],
            model=self.model,
            offline=False,
            usage={"input_tokens": usage["inputTokens"], "output_tokens": usage["outputTokens"]},
        )


def make_client(kind: str, url: str, settings: Settings) -> SummaryClient:
    if kind == "bedrock":  # the real ChatBedrockConverse + botocore stack, pointed at the loopback server
        from vetoflow.llm.bedrock import BedrockSynthesizer

        os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
        client: SummaryClient = BedrockSynthesizer(settings, region="us-east-1", endpoint_url=url)
        return client
    return LoopbackConverseClient(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--client", choices=["bedrock", "loopback"], default="bedrock")
    parser.add_argument("--database-url", help="PostgreSQL URL (a fresh database); default: a temporary SQLite file")
    args = parser.parse_args()
    server = LoopbackBedrock(args.delay)
    scenario = load_scenario(ROOT / "vetoflow" / "examples" / "profitable.yaml").model_copy(update={"paths": 200})
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), database_url=args.database_url)
        with open_service(settings) as service:
            start = time.perf_counter()
            for i in range(args.runs):
                service.start(scenario.model_copy(update={"name": f"bench-{i:03d}"}))
            print(f"saved {args.runs} runs in {time.perf_counter() - start:.1f} s ({settings.backend_name})")
            sources = service.select_for_replay()
            client = make_client(args.client, server.url, settings)
            print(
                f"batch replay --from synthesizer of {len(sources)} runs, LLM {client.name} answering after "
                f"{args.delay * 1000:.0f} ms on loopback"
            )
            for concurrency in args.concurrency:
                report = Report(options=BatchOptions(from_node="synthesizer", llm_model=f"bench-c{concurrency}"))
                summary = batch.run_batch(service.with_synthesizer(client), sources, report, concurrency=concurrency)
                assert summary.by_status == {"completed": len(sources)}, summary.by_status
                ideal = len(sources) * args.delay / concurrency
                print(
                    f"concurrency {concurrency:3d}: wall {summary.wall_s:7.2f} s, ideal {ideal:6.2f} s, "
                    f"ratio {summary.wall_s / ideal:5.2f}x  ({summary.tokens:,} tokens)"
                )
    server.shutdown()
    print("aim: ratio <= 1.5x at concurrency 16")


if __name__ == "__main__":
    main()
