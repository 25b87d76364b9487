"""Seeded, vectorised Monte Carlo of revenue paths, with statsmodels for segments that bring history.

Both engines hand their paths to `vetoflow.risk` for per-path outcomes; only summaries leave this module.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import NDArray

from vetoflow.growth import segment_revenue
from vetoflow.risk.outcomes import path_outcomes
from vetoflow.risk.summary import summarize
from vetoflow.risk.tornado import tornado
from vetoflow.scenario import Scenario, Segment
from vetoflow.state import Band, Forecast, ForecastMethod

PERCENTILES = (10, 50, 90)


def simulate_assumptions(
    segments: list[Segment], horizon: int, paths: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Revenue paths (segments, paths, horizon) from growth ~ Normal(mean, volatility) per period."""
    return revenue_from_draws(segments, rng.standard_normal((len(segments), paths, horizon)))


def revenue_from_draws(segments: list[Segment], draws: NDArray[np.float64]) -> NDArray[np.float64]:
    """Revenue paths from standard normal draws (segments, paths, horizon): growth = mean + volatility * draw."""
    mean = np.array([s.growth_mean for s in segments])[:, None, None]
    vol = np.array([s.volatility for s in segments])[:, None, None]
    base = np.array([s.base_revenue for s in segments])[:, None, None]
    paths_: NDArray[np.float64] = base * np.cumprod(np.clip(1.0 + (draws * vol + mean), 0.0, None), axis=2)
    return paths_


HOLT_PARAMETERS = 4
"""Holt's fit estimates the level and trend smoothing and the initial level and trend. statsmodels takes the
noise's variance from the residuals over `len(history) - HOLT_PARAMETERS` degrees of freedom: on 4 points
that is 0/0, NaN (issue: a 4-row history, the documented minimum, gave NaN figures)."""


def simulate_history(history: list[float], horizon: int, paths: int, seed: int) -> NDArray[np.float64]:
    """Revenue paths (paths, horizon) fitted on history: Holt's additive-trend exponential smoothing when the
    series leaves the fit residual degrees of freedom, a random walk with drift (Holt with level smoothing 1
    and a fixed trend) on the shortest series the scenario allows."""
    series = np.asarray(history, dtype=float)
    if series.size <= HOLT_PARAMETERS:
        return drift_paths(series, horizon, paths, seed)
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels warns on short series; the fit is still the best we have
        fit = ExponentialSmoothing(series, trend="add", initialization_method="estimated").fit()
        # RandomState, as statsmodels made of an int seed until 0.15: saved runs replay to the same draws
        sims = fit.simulate(horizon, repetitions=paths, error="add", rng=np.random.RandomState(seed))
    paths_: NDArray[np.float64] = np.asarray(sims, dtype=np.float64).reshape(horizon, paths).T
    return np.clip(paths_, 0.0, None)


def drift_paths(series: NDArray[np.float64], horizon: int, paths: int, seed: int) -> NDArray[np.float64]:
    """Random walk with drift: each period adds the mean past change plus noise with the past changes' spread.

    Two parameters from `len(series) - 1` changes (the drift uses one degree of freedom, so 4 points leave
    2 for the spread); a flat series gives a flat forecast. Paths start from the last observed value.
    """
    changes = np.diff(series)
    with np.errstate(over="ignore", invalid="ignore"):  # beyond the documented bounds: the guard reports it
        drift = float(np.mean(changes))
        spread = float(np.std(changes, ddof=1)) if changes.size > 1 else 0.0
        steps = drift + spread * np.random.default_rng(seed).standard_normal((paths, horizon))
        paths_: NDArray[np.float64] = series[-1] + np.cumsum(steps, axis=1)
    return np.clip(paths_, 0.0, None)


def _band(values: NDArray[np.float64]) -> Band:
    with np.errstate(invalid="ignore"):  # infinite paths (beyond the documented bounds): the guard reports them
        p10, p50, p90 = np.percentile(values, PERCENTILES, axis=0)
    return Band(p10=_rounded(p10), p50=_rounded(p50), p90=_rounded(p90))


def _rounded(values: NDArray[np.float64]) -> list[float]:
    return [round(float(v), 2) for v in values]


def forecast_from_paths(
    scenario: Scenario, revenue: NDArray[np.float64], methods: dict[str, str], method: ForecastMethod
) -> Forecast:
    """Bands for the fan chart, per-path outcomes summarised, and the tornado (common random numbers).

    Works one segment at a time where it can: the budget assumes about `BYTES_PER_CELL` at the peak.
    """
    profit = np.zeros(revenue.shape[1:])
    for index, segment in enumerate(scenario.segments):
        profit += revenue[index] * segment.margin
    outcomes = path_outcomes(profit, scenario.investment, scenario.discount_rate)
    return Forecast(
        method=method,
        periods=scenario.horizon,
        paths=scenario.paths,
        seed=scenario.seed,
        segments={s.name: _band(revenue[i]) for i, s in enumerate(scenario.segments)},
        segment_methods=methods,
        revenue=_band(revenue.sum(axis=0)),
        profit=_band(profit),
        outcomes=summarize(outcomes, scenario.veto_threshold, scenario.investment, scenario.discount_rate),
        sensitivity=tornado(scenario, revenue, profit),
    )


def simulate_revenue(scenario: Scenario) -> tuple[NDArray[np.float64], dict[str, str]]:
    """Revenue paths (segments, paths, horizon) and the engine of each segment.

    Same scenario and seed, same numbers: one seeded generator draws each segment's normals in turn
    (the same stream as one (segments, paths, horizon) draw), so the tornado can draw them again.
    """
    rng = np.random.default_rng(scenario.seed)
    revenue = np.empty((len(scenario.segments), scenario.paths, scenario.horizon))
    methods = {s.name: "monte_carlo" for s in scenario.segments}
    for index, segment in enumerate(scenario.segments):
        draws = rng.standard_normal((scenario.paths, scenario.horizon))
        if segment.history:
            seed = (scenario.seed + index) % 2**32  # a seed near 2**32 - 1 must not leave numpy's range
            revenue[index] = simulate_history(segment.history, scenario.horizon, scenario.paths, seed)
            methods[segment.name] = "exponential_smoothing"
        else:
            revenue[index] = segment_revenue(segment, draws)
    return revenue, methods


def run_forecast(scenario: Scenario) -> Forecast:
    revenue, methods = simulate_revenue(scenario)
    fitted = all(m == "exponential_smoothing" for m in methods.values())
    return forecast_from_paths(scenario, revenue, methods, "exponential_smoothing" if fitted else "monte_carlo")
