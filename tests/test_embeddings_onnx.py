"""The ONNX Runtime embedding path against the sentence-transformers reference, and runs without torch."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from pydantic import ValidationError

from tests.conftest import EXAMPLES, env_for
from tests.rag_helpers import KNOWLEDGE, store_in
from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.rag.embeddings import LocalEmbeddings, default_threads
from vetoflow.rag.ingest import expand, ingest, split_file
from vetoflow.rag.onnx_encoder import Pooling, pool
from vetoflow.rag.onnx_export import ONNX_FILE, SIDECAR, find_export
from vetoflow.rag.reference import ReferenceEmbeddings
from vetoflow.rag.retrieval import search

HEAVY = ("torch", "transformers", "sentence_transformers", "langchain_huggingface")
QUESTIONS = [
    "Why did the kiosk pilot fail in most malls?",
    "How do green coffee prices affect our costs?",
    "What do public sector tenders require about data residency?",
    "What happens to warehouse robots if the largest client leaves?",
    "Exposure to the Swedish krona exchange rate",
    "What did the board say about the kiosk rollout?",
    "discount rate policy for risky projects",
    "pricing of the SMB plan in Finland",
    "point of sale refresh in stores",
    "conveyor retrofit downtime",
]


def chunk_texts() -> list[str]:
    return [c.text for f in expand([KNOWLEDGE]) for c in split_file(f, 10**7)]


@pytest.fixture(scope="module")
def reference(embeddings: LocalEmbeddings) -> ReferenceEmbeddings:
    return ReferenceEmbeddings(embeddings.resolved)


def cosines(a: list[list[float]], b: list[list[float]]) -> npt.NDArray[np.float64]:
    x, y = np.array(a), np.array(b)
    return np.asarray((x * y).sum(axis=1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1)))


@pytest.mark.slow  # loads torch or starts processes
def test_onnx_vectors_equal_the_sentence_transformers_vectors(
    embeddings: LocalEmbeddings, reference: ReferenceEmbeddings
) -> None:
    texts = [*chunk_texts(), "", "x", "Ünïcödé café — 日本語", "long " * 600]  # empty, tiny, non-ASCII, truncated
    assert len(texts) > 30
    assert cosines(embeddings.embed_documents(texts), reference.embed_documents(texts)).min() > 0.9999
    queries = [cosines([embeddings.embed_query(q)], [reference.embed_query(q)])[0] for q in QUESTIONS]
    assert min(queries) > 0.9999
    assert embeddings.dimension == reference.dimension == 384


@pytest.mark.slow  # loads torch or starts processes
def test_onnx_vectors_equal_the_reference_when_truncated(embeddings: LocalEmbeddings) -> None:
    narrow = LocalEmbeddings(embeddings.resolved, truncate_dim=128)
    narrow_reference = ReferenceEmbeddings(embeddings.resolved, truncate_dim=128)
    texts = chunk_texts()[:12]
    assert narrow.dimension == narrow_reference.dimension == 128
    assert cosines(narrow.embed_documents(texts), narrow_reference.embed_documents(texts)).min() > 0.9999


@pytest.mark.slow  # loads torch or starts processes
def test_onnx_store_retrieves_the_same_top_k_as_the_reference(
    tmp_path: Path, embeddings: LocalEmbeddings, reference: ReferenceEmbeddings
) -> None:
    settings, store = store_in(tmp_path / "home", embeddings)
    assert not ingest(store, [KNOWLEDGE], max_bytes=settings.max_ingest_bytes).skipped
    stored = store.collection.get(include=["documents", "metadatas"])
    truth = np.array(reference.embed_documents(stored["documents"]))
    for question in QUESTIONS:
        scores = truth @ np.array(reference.embed_query(question))
        expected = [
            (Path(stored["metadatas"][i]["source"]).name, stored["metadatas"][i]["chunk"])
            for i in np.argsort(-scores)[:4]
        ]
        hits = search(store, question, 4)
        assert [(h.source, h.chunk) for h in hits] == expected, question
        assert [h.score for h in hits] == pytest.approx(sorted(scores, reverse=True)[:4], abs=1e-3)


def imported_modules(stderr: str) -> set[str]:
    """Module names from `python -X importtime` output."""
    return {m.group(1).strip() for m in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \| (.+)$", stderr, re.MULTILINE)}


def run_cli(env: dict[str, str], *args: str) -> tuple[dict[str, Any], set[str]]:
    """`python -X importtime -m vetoflow ARGS`: its JSON output (if any) and every module it imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vetoflow", *args, "--json"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout), imported_modules(done.stderr)


@pytest.mark.slow  # loads torch or starts processes
def test_cli_ingest_and_run_with_a_knowledge_base_never_import_torch(
    tmp_path: Path, embeddings: LocalEmbeddings
) -> None:
    env = env_for(Settings(home=tmp_path / "home", database_url=None))
    _, ingested = run_cli(env, "ingest", str(KNOWLEDGE))
    run, ran = run_cli(env, "run", str(EXAMPLES / "profitable.yaml"))
    for modules in (ingested, ran):
        assert "onnxruntime" in modules
        assert not {m for m in modules if m.split(".")[0] in HEAVY}
    onnx = run["state"]["retrieval"]
    assert onnx["sources"]
    assert onnx["embedding_model"] == embeddings.name

    # the same run on the torch reference: the check above would have seen torch, and retrieval is the same
    reference, with_torch = run_cli(
        env | {"VETOFLOW_EMBEDDING_BACKEND": "torch"}, "run", str(EXAMPLES / "profitable.yaml")
    )
    assert "torch" in with_torch
    torch_sources = reference["state"]["retrieval"]["sources"]
    assert [(s["source"], s["chunk"]) for s in torch_sources] == [(s["source"], s["chunk"]) for s in onnx["sources"]]
    assert [s["score"] for s in torch_sources] == pytest.approx([s["score"] for s in onnx["sources"]], abs=1e-3)


@pytest.fixture
def model_copy(tmp_path: Path, embeddings: LocalEmbeddings) -> Path:
    """The packaged model's files linked into a folder of our own, with a copy of its export."""
    source, copy = Path(embeddings.resolved.path), tmp_path / "model"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("onnx"), copy_function=os.symlink)
    (copy / "config.json").unlink()
    shutil.copy(source / "config.json", copy / "config.json")
    (copy / "onnx").mkdir()
    for name in (ONNX_FILE, SIDECAR):
        os.symlink(embeddings.onnx_file.parent / name, copy / "onnx" / name)
    return copy


def test_an_export_of_other_weights_is_never_used(model_copy: Path) -> None:
    assert find_export(model_copy, None) is not None
    config = json.loads((model_copy / "config.json").read_text())
    (model_copy / "config.json").write_text(json.dumps({**config, "layer_norm_eps": 1e-6}))
    assert find_export(model_copy, None) is None


@pytest.mark.slow  # loads torch or starts processes
def test_without_an_export_and_without_torch_the_error_says_how_to_make_one(model_copy: Path, tmp_path: Path) -> None:
    shutil.rmtree(model_copy / "onnx")
    code = (
        "import sys; sys.modules['torch'] = None\n"  # as in the runtime image: torch is not installed
        "from pathlib import Path\nfrom vetoflow.rag.onnx_export import ensure_export\n"
        f"ensure_export(Path({str(model_copy)!r}), Path({str(tmp_path / 'home')!r}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert "VetoflowError: the embedding model has no ONNX export yet" in done.stderr
    assert "python -m vetoflow.rag.onnx_export --model MODEL_DIR" in done.stderr


def test_embedding_threads_are_a_bounded_setting_defaulting_to_one_on_lambda(
    embeddings: LocalEmbeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValidationError, match="embedding_threads"):
        Settings(embedding_threads=0)
    with pytest.raises(ValidationError, match="embedding_threads"):
        Settings(embedding_threads=65)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    assert default_threads() == 1
    two = LocalEmbeddings(embeddings.resolved, threads=2)
    assert two.encoder.session.get_session_options().intra_op_num_threads == 2
    assert cosines(two.embed_documents(["kiosk leases"]), embeddings.embed_documents(["kiosk leases"]))[0] > 0.9999


def test_a_pooling_the_onnx_path_cannot_reproduce_is_refused_by_name(model_copy: Path) -> None:
    from vetoflow.rag.onnx_encoder import SentenceConfig

    assert SentenceConfig.read(model_copy).pooling == "mean"
    pooling = model_copy / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    pooling.unlink()
    pooling.write_text(
        json.dumps({**config, "pooling_mode_mean_tokens": False, "pooling_mode_weightedmean_tokens": True})
    )
    with pytest.raises(VetoflowError, match=r"pooling none is not supported by the ONNX path"):
        SentenceConfig.read(model_copy)


@pytest.mark.slow  # whole `vetoflow` processes (or a browser): the full suite runs it
@pytest.mark.parametrize("mode", ["mean", "cls", "max", "mean_sqrt_len_tokens"])
def test_each_pooling_mode_equals_sentence_transformers_pooling(mode: Pooling) -> None:
    import torch
    from sentence_transformers.sentence_transformer.modules import Pooling as TorchPooling

    rng = np.random.default_rng(7)
    tokens = rng.normal(size=(3, 9, 16)).astype(np.float32)
    mask = np.array([[1] * 9, [1] * 4 + [0] * 5, [1] * 2 + [0] * 7], dtype=np.int64)
    features = {"token_embeddings": torch.from_numpy(tokens), "attention_mask": torch.from_numpy(mask)}
    expected = TorchPooling(16, pooling_mode=mode)(features)["sentence_embedding"].numpy()
    assert np.abs(pool(tokens, mask, mode) - expected).max() < 1e-5
