"""Background execution on procrastinate: API and CLI defer jobs, `vetoflow worker` processes run them.

Everything lives in the PostgreSQL that already holds checkpoints and the run index: no new service.
"""
