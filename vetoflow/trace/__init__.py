"""Developer traces: a run's timeline rebuilt from its checkpoint history, state diffs and graph pictures."""

from vetoflow.trace.timeline import Trace, TraceStep, build_trace

__all__ = ["Trace", "TraceStep", "build_trace"]
