"""Pieces of the Gradio console; `vetoflow/ui.py` assembles them into tabs."""
