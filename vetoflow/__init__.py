"""vetoflow: investment decisions through a LangGraph supervisor with a human veto loop."""

__version__ = "0.1.0"
