"""`vetoflow run` with a knowledge base, whole processes: ONNX Runtime embeddings against the torch path.

Each repetition runs the same scenario three times, in fresh processes, in alternating order: with the
knowledge base on ONNX Runtime (the default), on the sentence-transformers reference
(VETOFLOW_EMBEDDING_BACKEND=torch), and with no knowledge base at all (nothing embedded: the floor).
Wall time, CPU time (user + system) and peak RSS come from wait4 on each child.
Aim: the ONNX run at most 0.35x the wall time of the torch run.

Usage: python bench/embeddings_cli.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "vetoflow" / "examples" / "profitable.yaml"
AIM = 0.35


def measure(env: dict[str, str], *args: str) -> dict[str, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "vetoflow", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    stderr = process.stderr.read().decode() if process.stderr else ""
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"vetoflow {' '.join(args)} failed ({process.returncode}): {stderr[-1000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mib": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    base = {k: v for k, v in os.environ.items() if not k.startswith("VETOFLOW_")} | {"VETOFLOW_LLM": "offline"}
    with tempfile.TemporaryDirectory() as tmp:
        with_kb = base | {"VETOFLOW_HOME": str(Path(tmp) / "kb")}
        measure(with_kb, "ingest", str(ROOT / "vetoflow" / "examples" / "knowledge"))
        variants = {
            "onnx": with_kb,
            "torch": with_kb | {"VETOFLOW_EMBEDDING_BACKEND": "torch"},
            "no knowledge base": base | {"VETOFLOW_HOME": str(Path(tmp) / "empty")},
        }
        measure(variants["torch"], "run", str(SCENARIO))  # warm the page cache for both model files
        results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
        for i in range(args.repeat):
            names = list(variants) if i % 2 == 0 else list(reversed(variants))
            for name in names:
                results[name].append(measure(variants[name], "run", str(SCENARIO)))
    med = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in results.items()}
    print(f"vetoflow run {SCENARIO.name} with the knowledge base, median of {args.repeat} paired processes "
          f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}):")  # fmt: skip
    for name, m in med.items():
        print(f"  {name:18s} wall {m['wall']:6.2f} s   CPU {m['cpu']:6.2f} s   peak RSS {m['rss_mib']:5.0f} MiB")
    onnx, torch = med["onnx"], med["torch"]
    print(f"ONNX / torch: wall {onnx['wall'] / torch['wall']:.2f}x (aim <= {AIM}x), "
          f"CPU {onnx['cpu'] / torch['cpu']:.2f}x, peak RSS {onnx['rss_mib'] / torch['rss_mib']:.2f}x")  # fmt: skip
    floor = med["no knowledge base"]
    print(f"ONNX run / run without a knowledge base: wall {onnx['wall'] / floor['wall']:.2f}x, "
          f"peak RSS {onnx['rss_mib'] / floor['rss_mib']:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
