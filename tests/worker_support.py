"""Real `vetoflow worker` processes against the test's PostgreSQL database, and the loopback Bedrock."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from tests.api_support import stop_process, wait_for
from tests.conftest import ROOT, env_for
from tests.fakes.bedrock_server import BedrockServer
from vetoflow.config import Settings
from vetoflow.db.job_queue import JobQueue
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

HEARTBEAT = 0.5
STALLED_AFTER = 3.0


@dataclass
class WorkerProcess:
    """One `vetoflow worker`; `kill9` is a crash (no heartbeat, no cleanup), `terminate` a SIGTERM drain."""

    env: dict[str, str]
    home: Path
    name: str
    concurrency: int = 1
    queues: tuple[str, ...] = ()  # `--queue` (default: all)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.home.parent / f"worker-{self.name}.log"

    def start(self) -> WorkerProcess:
        command = [sys.executable, "-m", "vetoflow", "worker", "--concurrency", str(self.concurrency)]
        command += ["--name", self.name, *(arg for queue in self.queues for arg in ("--queue", queue))]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        return self

    def kill9(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP: a hung worker, alive to the OS but doing nothing (no heartbeat, no job)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def terminate(self, timeout: float = 30) -> int:
        assert self.process is not None
        self.process.terminate()
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        stop_process(self.process)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class QueueEnv:
    settings: Settings
    service: RunService
    queue: JobQueue
    bedrock: BedrockServer
    env: dict[str, str]
    workers: list[WorkerProcess] = field(default_factory=list)

    def worker(
        self,
        name: str,
        *,
        concurrency: int = 1,
        slow: float = 0.0,
        slow_evidence: float = 0.0,
        host: str | None = None,
        queues: tuple[str, ...] = (),
    ) -> WorkerProcess:
        """`slow`/`slow_evidence`: seconds the Forecaster / the Evidence node take (tests.worker_clients);
        `host`: the machine it claims to be (VETOFLOW_WORKER_HOST), as if in its own container."""
        env = self.env | {"VETOFLOW_TEST_SLOW_SECONDS": str(slow), "VETOFLOW_TEST_SLOW_EVIDENCE": str(slow_evidence)}
        env |= {"VETOFLOW_WORKER_HOST": host} if host else {}
        process = WorkerProcess(env, self.settings.home, name, concurrency, queues).start()
        self.workers.append(process)
        return process

    def start(self, scenario: Scenario) -> str:
        """Start a run as any front end would in queue mode: recorded as queued, one job deferred."""
        view = self.service.start(scenario)
        assert view.status == "queued"
        return view.run.run_id

    def live_workers(self) -> int:
        assert self.settings.database_url is not None
        with psycopg.connect(self.settings.database_url, autocommit=True) as conn:
            query = "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - interval '3 seconds'"
            row = conn.execute(query).fetchone()
        return int(row[0]) if row else 0

    def wait_workers(self, count: int, timeout: float = 60) -> None:
        def ready() -> bool:
            for worker in self.workers:
                if worker.process is not None and worker.process.poll() not in (None, -9, 0):
                    raise AssertionError(f"worker {worker.name} exited:\n{worker.log()}")
            return self.live_workers() >= count

        wait_for(ready, timeout=timeout, what=f"{count} live workers")

    def wait_status(self, run_ids: list[str], statuses: set[str], timeout: float = 120) -> None:
        def done() -> bool:
            return all(self.service.index.get(run_id).status in statuses for run_id in run_ids)

        try:
            wait_for(done, timeout=timeout, what=f"runs in {statuses}")
        except AssertionError:
            logs = "\n".join(f"--- {w.name}\n{w.log()[-3000:]}" for w in self.workers)
            states = {r: self.service.index.get(r).status for r in run_ids}
            raise AssertionError(f"runs not {statuses}: {states}\n{logs}") from None


@pytest.fixture
def queue_env(postgres_url: str, tmp_path: Path, bedrock: BedrockServer) -> Iterator[QueueEnv]:
    """Queue mode on a fresh PostgreSQL database: the service defers, the test's workers execute."""
    settings = Settings(
        home=tmp_path / "home",
        database_url=postgres_url,
        executor="queue",
        worker_heartbeat=HEARTBEAT,
        worker_stalled_after=STALLED_AFTER,
        lease_seconds=STALLED_AFTER,  # a dead worker's run leases lapse as soon as its jobs count as stalled
    )
    settings.home.mkdir(parents=True)
    env = env_for(settings) | {
        "PYTHONPATH": str(ROOT),
        "VETOFLOW_EXECUTOR": "queue",
        "VETOFLOW_CONTEXT_FACTORY": "tests.worker_clients:make_context",
        "VETOFLOW_LLM": "bedrock",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock.url,
        "VETOFLOW_WORKER_HEARTBEAT": str(HEARTBEAT),
        "VETOFLOW_WORKER_STALLED_AFTER": str(STALLED_AFTER),
        "VETOFLOW_LEASE_SECONDS": str(STALLED_AFTER),
    }
    with open_service(settings) as service:
        assert isinstance(service.dispatcher, JobQueue)
        env_ = QueueEnv(settings, service, service.dispatcher, bedrock, env)
        try:
            yield env_
        finally:
            for worker in env_.workers:
                worker.stop()
