"""The graph's node names, as a type for the edges that accept one (`--from`, the API's `from_node`).

`tests/test_boundary.py` checks this list against the assembled graph, so the two cannot drift.
"""

from __future__ import annotations

from typing import Literal, get_args

NodeName = Literal["forecaster", "accountant", "evidence", "approval", "synthesizer"]
NODE_NAMES: tuple[str, ...] = get_args(NodeName)
