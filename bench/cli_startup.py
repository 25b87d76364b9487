"""Start-up of the command line: `vetoflow --help` and `vetoflow runs` against a bare `python -c "import click"`.

Whole processes, alternated, medians; `runs` lists a database holding a few real runs (created first).
Aims: `--help` under 0.4 s and `runs` under 1 s wall on this 2-core machine.

Usage: python bench/cli_startup.py [--repeat 15]
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
AIMS = {"vetoflow --help": 0.4, "vetoflow runs": 1.0}


def wall(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VETOFLOW_")}
        env |= {"VETOFLOW_HOME": home, "VETOFLOW_LLM": "offline"}
        for name in ("profitable", "vetoed"):
            subprocess.run(
                [sys.executable, "-m", "vetoflow", "run", str(ROOT / "vetoflow" / "examples" / f"{name}.yaml")],
                env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        commands = {
            'python -c "import click"': ["-c", "import click"],
            "vetoflow --help": ["-m", "vetoflow", "--help"],
            "vetoflow runs": ["-m", "vetoflow", "runs"],
        }
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, command in commands.items():
                samples[name].append(wall(env, *command))
    med = {name: statistics.median(values) for name, values in samples.items()}
    base = med['python -c "import click"']
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; medians of {args.repeat} processes")
    for name, value in med.items():
        aim = f"  (aim < {AIMS[name]} s)" if name in AIMS else ""
        print(f"  {name:28s} {value:6.3f} s  {value / base:5.1f}x the bare click import{aim}")


if __name__ == "__main__":
    main()
