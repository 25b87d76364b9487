"""Lambda mode's environment: every cache and temp directory under /tmp, the only writable place.

Called at process start (the CLI's entry point, the ASGI factory) before Gradio, matplotlib, Hugging Face
or torch are imported, because those read their directories once, at import. Values the user set win.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping
from pathlib import Path

LAMBDA_TMP = Path("/tmp")  # Lambda's ephemeral storage (512 MB to 10 GB); the rest of the filesystem is read-only


def on_lambda(environ: MutableMapping[str, str] | None = None) -> bool:
    """Lambda sets LAMBDA_TASK_ROOT in every function's environment."""
    return bool((os.environ if environ is None else environ).get("LAMBDA_TASK_ROOT"))


def lambda_directories(tmp: Path = LAMBDA_TMP) -> dict[str, str]:
    """Where each library writes on Lambda; the keys are the variables the libraries read."""
    return {
        "TMPDIR": str(tmp),  # tempfile, and through it anything that asks for a temp file
        "HF_HOME": str(tmp / "huggingface"),  # hub cache, token, xet cache
        "SENTENCE_TRANSFORMERS_HOME": str(tmp / "huggingface" / "sentence-transformers"),
        "TORCH_HOME": str(tmp / "torch"),
        "GRADIO_TEMP_DIR": str(tmp / "gradio"),  # uploads and generated files of the console
        "MPLCONFIGDIR": str(tmp / "matplotlib"),  # font cache of the console's charts
        "XDG_CACHE_HOME": str(tmp / "cache"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "XDG_DATA_HOME": str(tmp / "data"),
    }


def prepare_environment(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """On Lambda, point unset cache/temp variables under /tmp; returns what was set (nothing off Lambda)."""
    env = os.environ if environ is None else environ
    if not on_lambda(env):
        return {}
    applied: dict[str, str] = {}
    defaults = lambda_directories() | {"GRADIO_ANALYTICS_ENABLED": "False"}  # no phone-home on a cold start
    for name, value in defaults.items():
        if not env.get(name):
            env[name] = applied[name] = value
    if environ is None:
        sys.dont_write_bytecode = True  # site-packages is read-only in the image: no __pycache__ attempts
        import tempfile

        tempfile.tempdir = None  # re-read TMPDIR if tempfile was already used
    return applied
