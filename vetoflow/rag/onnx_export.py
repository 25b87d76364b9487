"""The embedding model exported to ONNX fp32, once, so that runs embed through ONNX Runtime without torch.

Where an export lives: beside the model (`<model>/onnx/vetoflow-fp32.onnx`) when that folder is writable
(an install step, the Docker build), else under `$VETOFLOW_HOME/onnx/<model>-<fingerprint>/`. A sidecar
JSON written last records the fingerprint of the weights it came from: an export of other weights, or a
half-written one, is never used. Exporting needs torch, transformers and onnx (the `export` extra); it
runs at install (`python -m vetoflow.rag.onnx_export`) or, where torch is installed, at first use.
fp32 on purpose: dynamic int8 changed the top-1 retrieval result for a fifth of the queries measured.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import inspect
import json
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vetoflow.errors import VetoflowError

ONNX_FILE = "vetoflow-fp32.onnx"
SIDECAR = "vetoflow-fp32.json"
TOKENIZER_FILE = "tokenizer.json"
OPSET = 17
WEIGHT_SUFFIXES = (".safetensors", ".bin")
PROBE = ["ONNX export probe: kiosk pilots in Nordic airports.", "short"]
MAX_PROBE_ERROR = 1e-3  # fp32 kernels differ in summation order; anything larger is a broken export


@dataclass(frozen=True)
class Export:
    """A usable export: the ONNX graph and the tokenizer file to drive it."""

    onnx_file: Path
    tokenizer_file: Path


def fingerprint(model_dir: Path) -> str:
    """Cheap identity of the weights: config, and each weight file's name, size, first and last MiB."""
    digest = hashlib.sha256()
    for path in sorted(model_dir.iterdir()):
        if path.name == "config.json" or path.suffix in WEIGHT_SUFFIXES:
            size = path.stat().st_size
            digest.update(f"{path.name}:{size}".encode())
            with path.open("rb") as handle:
                digest.update(handle.read(1 << 20))
                handle.seek(max(0, size - (1 << 20)))
                digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:16]


def candidates(model_dir: Path, home: Path | None) -> list[Path]:
    """Directories an export may live in, in the order they are looked at (and tried for writing)."""
    dirs = [model_dir / "onnx"]
    if home is not None:
        slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", model_dir.name).strip("-.") or "model"
        dirs.append(home / "onnx" / f"{slug}-{fingerprint(model_dir)}")
    return dirs


def _tokenizer_file(model_dir: Path, export_dir: Path) -> Path:
    own = model_dir / TOKENIZER_FILE
    return own if own.is_file() else export_dir / TOKENIZER_FILE


def find_export(model_dir: Path, home: Path | None) -> Export | None:
    """A complete export of exactly these weights, or None."""
    wanted = fingerprint(model_dir)
    for directory in candidates(model_dir, home):
        try:
            recorded = json.loads((directory / SIDECAR).read_text(encoding="utf-8")).get("fingerprint")
        except (OSError, ValueError):
            continue
        tokenizer = _tokenizer_file(model_dir, directory)
        if recorded == wanted and (directory / ONNX_FILE).is_file() and tokenizer.is_file():
            return Export(onnx_file=directory / ONNX_FILE, tokenizer_file=tokenizer)
    return None


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One exporter per directory at a time (parallel test workers, several processes at first use)."""
    with (directory / ".export.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_export(model_dir: Path, home: Path | None) -> Export:
    """The export of this model, made now (seconds, imports torch) if there is none yet."""
    found = find_export(model_dir, home)
    if found is not None:
        return found
    errors = []
    for directory in candidates(model_dir, home):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            with _locked(directory):
                return find_export(model_dir, home) or export_model(model_dir, directory)
        except PermissionError as exc:  # a read-only model folder (site-packages, an image): try the next one
            errors.append(f"{directory}: {exc.strerror}")
        except OSError as exc:
            if exc.errno not in (13, 30):  # EACCES, EROFS
                raise
            errors.append(f"{directory}: {exc.strerror}")
    raise VetoflowError(f"no writable place for the ONNX export of {model_dir}: {'; '.join(errors)}")


def _export_modules() -> tuple[Any, Any]:
    try:
        import onnx  # noqa: F401  # torch.onnx.export serialises through it
        import torch
        import transformers
    except ImportError as exc:
        raise VetoflowError(
            f"the embedding model has no ONNX export yet and it cannot be made here ({exc.name} is not installed). "
            "Make it where torch is installed: pip install 'vetoflow[export]' and run "
            "`python -m vetoflow.rag.onnx_export --model MODEL_DIR` (the Docker build and `make install` do)."
        ) from None
    return torch, transformers


def _write_atomically(directory: Path, name: str, write: Any) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
    os.close(fd)
    try:
        write(temp)
        os.chmod(temp, 0o644)  # mkstemp makes it 0600: another user (the image's runtime user) must read it
        os.replace(temp, directory / name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def export_model(model_dir: Path, directory: Path) -> Export:
    """torch.onnx.export of the transformer's token embeddings, checked against torch on a probe batch."""
    import numpy as np
    import onnxruntime as ort

    torch, transformers = _export_modules()
    model = transformers.AutoModel.from_pretrained(str(model_dir)).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir))
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in inspect.signature(model.forward).parameters:
        names.append("token_type_ids")

    class TokenEmbeddings(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: Any) -> Any:
            return self.model(**dict(zip(names, inputs, strict=True))).last_hidden_state

    batch = tokenizer(PROBE, padding=True, return_tensors="pt")
    args = tuple(batch[name] for name in names)
    axes = {name: {0: "batch", 1: "sequence"} for name in [*names, "token_embeddings"]}
    wrapper = TokenEmbeddings()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = wrapper(*args).numpy()
        _write_atomically(
            directory,
            ONNX_FILE,
            lambda temp: torch.onnx.export(
                wrapper, args, temp, input_names=names, output_names=["token_embeddings"], dynamic_axes=axes,
                opset_version=OPSET, dynamo=False,
            ),
        )  # fmt: skip
    session = ort.InferenceSession(str(directory / ONNX_FILE), providers=["CPUExecutionProvider"])
    got = session.run(None, {name: batch[name].numpy() for name in names})[0]
    error = float(np.abs(got - expected).max())
    if error > MAX_PROBE_ERROR:
        raise VetoflowError(f"the ONNX export of {model_dir} differs from torch by {error:.2g}: not used")
    if not (model_dir / TOKENIZER_FILE).is_file():  # older folders carry only vocab files: save the fast tokenizer
        _write_atomically(directory, TOKENIZER_FILE, tokenizer.backend_tokenizer.save)
    sidecar = {"fingerprint": fingerprint(model_dir), "opset": OPSET, "inputs": names, "torch": torch.__version__}
    _write_atomically(directory, SIDECAR, lambda temp: Path(temp).write_text(json.dumps(sidecar), encoding="utf-8"))
    return Export(onnx_file=directory / ONNX_FILE, tokenizer_file=_tokenizer_file(model_dir, directory))


def main(argv: list[str] | None = None) -> None:
    """`python -m vetoflow.rag.onnx_export`: the install/build step that makes the export."""
    from vetoflow.config import Settings
    from vetoflow.rag.embedding_model import resolve_model

    parser = argparse.ArgumentParser(description="Export the embedding model to ONNX fp32 (needs torch).")
    parser.add_argument("--model", help="model directory or hub id (default: VETOFLOW_EMBEDDING_MODEL's resolution)")
    parser.add_argument(
        "--home", type=Path, help="fallback cache root (default: VETOFLOW_HOME) if the model folder is read-only"
    )
    args = parser.parse_args(argv)
    settings = Settings()
    resolved = resolve_model(args.model or settings.embedding_model)
    export = ensure_export(Path(resolved.path), args.home or settings.home)
    print(f"{resolved.name}: {export.onnx_file}")


if __name__ == "__main__":
    main()
