"""Sensitivity (tornado): each input moved down and up by a documented step, ranked by the swing it
causes in median NPV.

Common random numbers: every variant reuses the run's own draws (same seed), so a bar measures the
input, not simulation noise. Vectorised per segment: a variant re-simulates one segment at most, and
base revenue, margin and discount rate need no re-simulation at all (profit is linear in them).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from vetoflow.growth import segment_revenue
from vetoflow.risk.outcomes import Vector
from vetoflow.scenario import Scenario
from vetoflow.state import Sensitivity, TornadoBar

STEPS = {
    "base_revenue": ("relative", 0.20, 0.0, 1e12),
    "growth_mean": ("absolute", 0.02, -1.0, 5.0),
    "volatility": ("relative", 0.25, 0.0, 2.0),
    "margin": ("absolute", 0.05, -1.0, 1.0),
}
"""Field: (kind, step, lowest, highest). Moved values are clipped to the scenario's allowed range."""
DISCOUNT_STEP = 0.02


def moved(value: float, field: str) -> tuple[float, float]:
    kind, step, lowest, highest = STEPS[field]
    low, high = (value * (1 - step), value * (1 + step)) if kind == "relative" else (value - step, value + step)
    return max(lowest, low), min(highest, high)


def _bar(name: str, values: tuple[float, float], npvs: tuple[Vector, Vector]) -> TornadoBar:
    low, high = (round(float(np.median(v)), 2) for v in npvs)
    swing = round(abs(high - low), 2)
    return TornadoBar(input=name, low=values[0], high=values[1], npv_low=low, npv_high=high, swing=swing)


def _segment_bars(scenario: Scenario, revenue: Vector, npv: Vector, discount: Vector) -> Iterator[TornadoBar]:
    rng = np.random.default_rng(scenario.seed)  # the run's draws again, one segment at a time
    for i, seg in enumerate(scenario.segments):
        draws = rng.standard_normal((scenario.paths, scenario.horizon))
        key = f"segments.{seg.name}"
        base_npv = (revenue[i] @ discount) * seg.margin
        for field in ("margin",) if seg.history else tuple(STEPS):  # the history sets the rest
            values = moved(getattr(seg, field), field)
            npvs = []
            for value in values:
                if field == "margin":
                    changed = (revenue[i] @ discount) * value
                elif field == "base_revenue":
                    changed = base_npv * (value / seg.base_revenue if seg.base_revenue else 1.0)  # linear
                else:
                    moved_seg = seg.model_copy(update={field: value})
                    changed = (segment_revenue(moved_seg, draws) @ discount) * seg.margin
                npvs.append(npv + (changed - base_npv))
            yield _bar(f"{key}.{field}", values, (npvs[0], npvs[1]))
        del draws


def tornado(scenario: Scenario, revenue: Vector, profit: Vector) -> Sensitivity:
    """`revenue` (segments, paths, horizon) and total `profit` (paths, horizon) as the Forecaster simulated them."""
    periods = np.arange(1, scenario.horizon + 1, dtype=np.float64)

    def npv_at(rate: float) -> Vector:
        result: Vector = profit @ (1.0 + rate) ** -periods - scenario.investment
        return result

    npv = npv_at(scenario.discount_rate)
    bars = list(_segment_bars(scenario, revenue, npv, (1.0 + scenario.discount_rate) ** -periods))
    rates = (max(0.0, scenario.discount_rate - DISCOUNT_STEP), min(1.0, scenario.discount_rate + DISCOUNT_STEP))
    bars.append(_bar("discount_rate", rates, (npv_at(rates[0]), npv_at(rates[1]))))
    bars.sort(key=lambda bar: bar.swing, reverse=True)
    return Sensitivity(npv_p50=round(float(np.median(npv)), 2), bars=bars)
