"""A channel limited to some tiers hears every event of the runs in those tiers, from the pause to how the
run ended (decided, failed, completed), and nothing of runs in other tiers. Outbox rows through the real
service; SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from tests.governance_support import POLICY, governed_service, governed_settings, people
from tests.helpers import CountingSynthesizer
from vetoflow.config import Settings
from vetoflow.context import Context
from vetoflow.runs.service import RunService
from vetoflow.scenario import Scenario

TIER_CHANNELS = (
    POLICY
    + """\
notify:
  - webhook: http://large.example/hook
    tiers: [large]
  - webhook: http://standard.example/hook
    tiers: [standard]
"""
)
LARGE, STANDARD = "http://large.example/…", "http://standard.example/…"


def heard(service: RunService, run_id: str) -> dict[str, list[str]]:
    """Each channel's events about the run, oldest first."""
    rows = sorted(service.notifications(run_id), key=lambda row: row["created_at"])
    return {target: [r["event"] for r in rows if r["target"] == target] for target in (LARGE, STANDARD)}


def test_a_tier_channel_hears_how_its_tier_s_runs_end_and_nothing_of_other_tiers(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    settings = governed_settings(settings, tmp_path, TIER_CHANNELS)
    users = people(settings)
    synthesizer = CountingSynthesizer(fail_first=1)  # the large run's summary fails once, then its retry completes
    with governed_service(settings, Context(synthesizer=synthesizer)) as service:
        large = service.start(vetoed.model_copy(update={"investment": 2_500_000.0}), requester="an").run.run_id
        service.decide(large, "approve", reviewer="ap1", user=users["ap1"])
        assert service.decide(large, "approve", reviewer="ap2", user=users["ap2"]).status == "failed"
        assert service.retry(large).status == "completed"
        standard = service.start(vetoed.model_copy(update={"investment": 500_000.0}), requester="an").run.run_id
        assert service.decide(standard, "approve", reviewer="ap1", user=users["ap1"]).status == "completed"

        assert heard(service, large) == {
            LARGE: ["run.paused", "run.decided", "run.failed", "run.completed"],
            STANDARD: [],
        }
        assert heard(service, standard) == {LARGE: [], STANDARD: ["run.paused", "run.decided", "run.completed"]}
        [completed] = [n for n in service.notifications(large) if n["event"] == "run.completed"]
        assert json.loads(completed["payload"])["run"]["tier"] == "large", "the tier of the run's last pause"
