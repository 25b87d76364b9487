"""The Monte Carlo's growth model for one segment, shared by the Forecaster and the tornado."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from vetoflow.scenario import Segment


def segment_revenue(segment: Segment, draws: NDArray[np.float64]) -> NDArray[np.float64]:
    """One segment's revenue paths (paths, horizon): growth = mean + volatility * draw, compounded."""
    growth = draws * segment.volatility
    growth += segment.growth_mean
    growth += 1.0
    np.clip(growth, 0.0, None, out=growth)
    np.cumprod(growth, axis=1, out=growth)
    growth *= segment.base_revenue
    return growth
