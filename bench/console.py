"""What the console adds on top of the service: the inbox refresh, opening a run, and approving one.

Each figure is the median over repeats, through `gradio_client` against a launched console on loopback,
against the same RunService call in the same process (the baseline).
Usage: python bench/console.py [--runs 2000] [--repeats 20]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gradio_client import Client
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from list_runs import fill

from vetoflow import ui
from vetoflow.config import Settings
from vetoflow.runs.store import open_service
from vetoflow.scenario import load_scenario

EXAMPLES = Path(__file__).resolve().parent.parent / "vetoflow" / "examples"


def median_ms(func: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), ui_users=SecretStr("ana:pw"))
        with open_service(settings) as service:
            fill(service.index, args.runs)
            vetoed = load_scenario(EXAMPLES / "vetoed.yaml")
            run_id = service.start(vetoed).run.run_id
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            demo = ui.launch(service, settings, port=port, prevent_thread_lock=True)
            client = Client(f"http://127.0.0.1:{port}/", auth=("ana", "pw"), verbose=False)
            inbox = (lambda: service.list(["paused"], limit=200), lambda: client.predict(api_name="/inbox"))
            opened = (lambda: service.view(run_id), lambda: client.predict(run_id, api_name="/open_run"))
            rows = [("inbox refresh", *inbox), ("open a run", *opened)]
            print(f"{args.runs:,} runs in the index (SQLite); medians of {args.repeats}")
            print(f"{'':16} {'service ms':>11} {'console ms':>11} {'ratio':>7}")
            for label, direct, console in rows:
                base, full = median_ms(direct, args.repeats), median_ms(console, args.repeats)
                print(f"{label:16} {base:11.1f} {full:11.1f} {full / base:6.1f}x")
            pending = [service.start(vetoed).run.run_id for _ in range(2 * args.repeats)]
            direct_ids, console_ids = iter(pending[: args.repeats]), iter(pending[args.repeats :])
            base = median_ms(lambda: service.decide(next(direct_ids), "approve", reviewer="ana"), args.repeats)
            approve_times = []
            for console_id in console_ids:  # a decision acts on the run shown: open it first (not timed)
                client.predict(console_id, api_name="/open_run")
                start = time.perf_counter()
                client.predict(console_id, "", api_name="/approve")
                approve_times.append((time.perf_counter() - start) * 1000)
            full = statistics.median(approve_times)
            print(f"{'approve':16} {base:11.1f} {full:11.1f} {full / base:6.1f}x")
            demo.close()


if __name__ == "__main__":
    main()
