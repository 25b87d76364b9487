"""Sentence embeddings through ONNX Runtime: the model's own tokenizer, pooling and normalisation, no torch.

A sentence-transformers model folder says how its vectors are made: `sentence_bert_config.json` (maximum
sequence length, lower-casing), `modules.json` (Transformer, Pooling, Normalize) and the Pooling module's
`config.json` (mean, CLS, max or mean-sqrt-len). The transformer itself runs from the ONNX export
(`rag/onnx_export.py`); this module reproduces the rest exactly, so vectors match the torch path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from vetoflow.errors import VetoflowError

Pooling = Literal["mean", "cls", "max", "mean_sqrt_len_tokens"]
POOLING_FLAGS: dict[str, Pooling] = {
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
}
DEFAULT_MAX_LENGTH = 512

Matrix = npt.NDArray[np.float32]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VetoflowError(f"cannot read {path}: {exc}") from None


@dataclass(frozen=True)
class SentenceConfig:
    """What sentence-transformers does around the transformer, read from the model folder."""

    pooling: Pooling
    max_length: int
    lowercase: bool
    dimension: int

    @classmethod
    def read(cls, model_dir: Path) -> SentenceConfig:
        modules = _read_json(model_dir / "modules.json") if (model_dir / "modules.json").is_file() else []
        # "sentence_transformers.models.Pooling", or the module path newer versions write
        paths = [str(m.get("path", "")) for m in modules if str(m.get("type", "")).endswith(".Pooling")]
        pooling: Pooling = "mean"  # sentence-transformers' default for a bare transformer folder
        dimension = 0
        if paths:
            config = _read_json(model_dir / paths[0] / "config.json")
            dimension = int(config.get("word_embedding_dimension") or config.get("embedding_dimension") or 0)
            chosen: list[str] = [mode for flag, mode in POOLING_FLAGS.items() if config.get(flag)]
            if "pooling_mode" in config:  # newer format: a name, or a list of names
                mode = config["pooling_mode"]
                chosen = [mode] if isinstance(mode, str) else [str(m) for m in mode]
            supported = {m: m for m in POOLING_FLAGS.values()}
            if len(chosen) != 1 or chosen[0] not in supported:
                raise VetoflowError(
                    f"{model_dir}: pooling {chosen or 'none'} is not supported by the ONNX path "
                    "(one of mean, cls, max, mean_sqrt_len_tokens)"
                )
            if config.get("include_prompt") is False:
                raise VetoflowError(f"{model_dir}: pooling that excludes the prompt is not supported by the ONNX path")
            pooling = supported[chosen[0]]
        bert = model_dir / "sentence_bert_config.json"
        st_config = _read_json(bert) if bert.is_file() else {}
        if not dimension:
            dimension = int(_read_json(model_dir / "config.json").get("hidden_size") or 0)
        return cls(
            pooling=pooling,
            max_length=int(st_config.get("max_seq_length") or DEFAULT_MAX_LENGTH),
            lowercase=bool(st_config.get("do_lower_case", False)),
            dimension=dimension,
        )


def _pad_token(model_dir: Path, tokenizer: Any) -> str:
    """The padding token the tokenizer file or its config names (padding ids are masked out anyway)."""
    if tokenizer.padding:
        return str(tokenizer.padding["pad_token"])
    config_file = model_dir / "tokenizer_config.json"
    token = _read_json(config_file).get("pad_token") if config_file.is_file() else None
    if isinstance(token, dict):
        token = token.get("content")
    return str(token) if token else "[PAD]"


def pool(tokens: Matrix, mask: npt.NDArray[np.int64], mode: Pooling) -> Matrix:
    """(batch, seq, hidden) token embeddings to (batch, hidden), ignoring padding as sentence-transformers does."""
    weights = mask[..., None].astype(np.float32)
    if mode == "cls":
        pooled = tokens[:, 0]
    elif mode == "max":
        pooled = np.where(weights > 0, tokens, np.float32(-1e9)).max(axis=1)
    else:
        counts = np.clip(weights.sum(axis=1), 1e-9, None)
        pooled = (tokens * weights).sum(axis=1) / (np.sqrt(counts) if mode == "mean_sqrt_len_tokens" else counts)
    return np.asarray(pooled, dtype=np.float32)


def normalize(vectors: Matrix) -> Matrix:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.clip(norms, 1e-12, None), dtype=np.float32)


class OnnxEncoder:
    """One ONNX Runtime session and the model's tokenizer; `encode` gives normalised float32 vectors."""

    def __init__(self, model_dir: Path, onnx_file: Path, tokenizer_file: Path, *, threads: int) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.config = SentenceConfig.read(model_dir)
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        # The tokenizer file may carry fixed-length padding; sentence-transformers truncates at its own
        # max_seq_length and pads each batch to its longest text.
        pad_token = _pad_token(model_dir, self.tokenizer)
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.config.max_length)
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id(pad_token) or 0, pad_token=pad_token)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def encode(self, texts: list[str], *, batch_size: int, truncate_dim: int | None = None) -> Matrix:
        """Vectors in the order of `texts`; batches are formed by length so little is padding."""
        dimension = truncate_dim or self.config.dimension
        out = np.zeros((len(texts), dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = self._batch([texts[i] for i in chunk], truncate_dim)
        return out

    def _batch(self, texts: list[str], truncate_dim: int | None) -> Matrix:
        if self.config.lowercase:
            texts = [t.lower() for t in texts]
        encodings = self.tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        tokens = self.session.run(None, {name: feeds[name] for name in self.inputs})[0]
        vectors = pool(np.asarray(tokens, dtype=np.float32), feeds["attention_mask"], self.config.pooling)
        if truncate_dim is not None:  # sentence-transformers truncates after its Normalize module, then normalises
            vectors = vectors[:, :truncate_dim]
        return normalize(vectors)  # normalize(truncate(normalize(v))) == normalize(truncate(v))
