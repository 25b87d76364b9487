"""Estimate of the Docker image's virtualenv, without Docker: the runtime stage against a torch runtime.

pip resolves what the Dockerfile's runtime stage installs (`.[rag,ui,api]`: ONNX Runtime, no torch) and
what it installed before ONNX (the same plus the `export` extra: sentence-transformers, torch), without
installing anything (`pip install --dry-run --report`); each resolved distribution is then measured by
the files it installed in this virtualenv (its RECORD), the CPU build of torch included. Distributions
missing here are listed, not guessed. The base image and the model files add the same to both.

Usage: python bench/image_size.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def resolved(extras: str) -> set[str]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
             "--report", str(report), f"{ROOT}[{extras}]"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        return {
            item["metadata"]["name"].lower().replace("_", "-") for item in json.loads(report.read_text())["install"]
        }


def installed_bytes(name: str) -> int | None:
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    return sum(p.size or 0 for p in dist.files or [])


def measure(names: set[str]) -> tuple[int, list[str]]:
    total, missing = 0, []
    for name in sorted(names - {"vetoflow"}):
        size = installed_bytes(name)
        if size is None:
            missing.append(name)
        else:
            total += size
    return total, missing


def main() -> None:
    runtime = resolved("rag,ui,api")
    with_torch = resolved("rag,ui,api,export") | {"torch"}  # the CPU wheel (the Dockerfile's index), as installed here
    (new, new_missing), (old, old_missing) = measure(runtime), measure(with_torch)
    heavy = sorted(with_torch - runtime, key=lambda n: -(installed_bytes(n) or 0))[:6]
    print(f"runtime virtualenv, ONNX Runtime ({len(runtime)} distributions): {new / 2**20:7.0f} MiB")
    print(f"runtime virtualenv with torch     ({len(with_torch)} distributions): {old / 2**20:7.0f} MiB")
    print(f"ratio: {new / old:.2f}x; left out of the image: " + ", ".join(
        f"{n} {(installed_bytes(n) or 0) / 2**20:.0f} MiB" for n in heavy))  # fmt: skip
    cuda = [n for n in old_missing if n.startswith(("nvidia-", "cuda-")) or n == "triton"]
    print(f"not counted: {len(cuda)} CUDA distributions of PyPI's torch wheel (the Dockerfile installs the CPU build)")
    old_missing = [n for n in old_missing if n not in cuda]
    for label, missing in (("runtime", new_missing), ("with torch", old_missing)):
        if missing:
            print(f"not installed here, not counted ({label}): {', '.join(missing)}")


if __name__ == "__main__":
    main()
