"""The reliability suite's tally, printed as a table at the end of the pytest session."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class Tally:
    scenarios: int = 0
    faults: int = 0
    lost: int = 0
    duplicated: int = 0
    rows: list[tuple[str, int, int, int, int]] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)  # measured figures printed under the table
    counts: Counter[str] = field(default_factory=Counter)  # the summary block's figures (SUMMARY), as counted
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, **figures: int) -> None:
        """Add what a test did to the summary's figures (names from SUMMARY, e.g. runs_killed=4)."""
        unknown = set(figures) - {name for line in SUMMARY for name, _ in line[1]}
        assert not unknown, f"not a summary figure: {unknown}"
        with self.lock:
            self.counts.update(figures)

    def note(self, name: str, figure: str) -> None:
        with self.lock:
            self.notes[name] = figure

    def record(self, case: str, *, scenarios: int = 0, faults: int = 0, lost: int = 0, duplicated: int = 0) -> None:
        with self.lock:
            self.scenarios += scenarios
            self.faults += faults
            self.lost += lost
            self.duplicated += duplicated
            for i, row in enumerate(self.rows):
                if row[0] == case:  # repeated cases (e.g. generated examples) add up on one line
                    self.rows[i] = (case, row[1] + scenarios, row[2] + faults, row[3] + lost, row[4] + duplicated)
                    return
            self.rows.append((case, scenarios, faults, lost, duplicated))


# The summary block issue 12 asks for: one line per group, each figure counted by the tests that ran.
SUMMARY: list[tuple[str, list[tuple[str, str]]]] = [
    ("runs killed (kill -9 mid-run)", [("runs_killed", "killed"), ("runs_lost", "lost"),
                                        ("runs_recovered", "stalled then recovered by one retry")]),
    ("concurrent deciders on one pause", [("deciders", "deciders"), ("decision_winners", "winners"),
                                          ("decision_llm_calls", "LLM calls")]),
    ("concurrent retries of one run", [("retries", "retries"), ("retry_llm_calls", "LLM calls")]),
    ("hostile inputs", [("hostile_tried", "tried"), ("hostile_crashed", "crashed (5xx)"),
                        ("hostile_accepted", "wrongly accepted")]),
]  # fmt: skip
GROUNDING = "grounding recall on invented numbers"

TALLY = Tally()


class _Report:
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not TALLY.rows and not TALLY.notes and not TALLY.counts:
            return
        write = terminalreporter.write_line
        terminalreporter.section("vetoflow reliability")
        if TALLY.rows:
            write(f"{'case':<66} {'scenarios':>9} {'faults':>7} {'lost':>5} {'dup':>4}")
            for case, scenarios, faults, lost, duplicated in TALLY.rows:
                write(f"{case[:66]:<66} {scenarios:>9} {faults:>7} {lost:>5} {duplicated:>4}")
            write(f"{'TOTAL':<66} {TALLY.scenarios:>9} {TALLY.faults:>7} {TALLY.lost:>5} {TALLY.duplicated:>4}")
            write(
                f"scenarios tried: {TALLY.scenarios}; faults injected: {TALLY.faults}; "
                f"runs lost: {TALLY.lost}; duplicated decisions: {TALLY.duplicated}"
            )
        for name, figure in TALLY.notes.items():
            if name != GROUNDING:
                write(f"{name}: {figure}")
        write("reliability summary (counted from what this session's tests did):")
        for label, figures in SUMMARY:
            if not any(name in TALLY.counts for name, _ in figures):
                write(f"  {label}: not exercised in this session")
                continue
            write(f"  {label}: " + "; ".join(f"{words} {TALLY.counts[name]}" for name, words in figures))
        write(f"  {GROUNDING}: {TALLY.notes.get(GROUNDING, 'not exercised in this session')}")


@pytest.fixture(scope="session")
def tally(request: pytest.FixtureRequest) -> Tally:
    manager = request.config.pluginmanager
    if not manager.has_plugin("vetoflow-reliability"):
        manager.register(_Report(), "vetoflow-reliability")
    return TALLY


def duplicated_decisions(view: dict[str, Any]) -> int:
    """Decisions beyond one per pause, plus reviews in state that no decision row accounts for."""
    pauses = [d["pause_id"] for d in view["decisions"]]
    return (len(pauses) - len(set(pauses))) + max(0, len(view["state"].get("reviews", [])) - len(pauses))
