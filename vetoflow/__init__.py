"""vetoflow: investment decisions through a LangGraph supervisor with a human veto loop."""

from vetoflow.lambda_env import prepare_environment
from vetoflow.version import VERSION

__version__ = VERSION

# On AWS Lambda only /tmp is writable, and Gradio, matplotlib and Hugging Face read their cache and temp
# directories once, at import: point them under /tmp before any entry point imports them (no-op elsewhere).
prepare_environment()
