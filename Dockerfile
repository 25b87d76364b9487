# vetoflow on AWS Lambda (container image) behind the AWS Lambda Web Adapter.
# Build: make image   (see "Deploying to AWS Lambda" in README.md)
ARG PYTHON_VERSION=3.11

# ---- export: the only stage with torch. It exports the embedding model to ONNX fp32, once ----
FROM python:${PYTHON_VERSION}-slim-bookworm AS export
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/export/bin:$PATH
WORKDIR /src
RUN python -m venv /opt/export
# The CPU build of torch first: the default wheel pulls several GB of CUDA libraries.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY vetoflow ./vetoflow
# DL3013 justified: this installs the project itself; its dependency ranges are pinned in pyproject.toml.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[rag,export]"
# Bake the embedding model into the image: a cold start never downloads weights.
ARG EMBEDDING_MODEL=BAAI/bge-small-en-v1.5
# Without the hub's own ONNX/OpenVINO/TF/Flax copies: vetoflow exports (and checks) its own ONNX file below.
RUN python -c "import sys; from huggingface_hub import snapshot_download; \
snapshot_download(sys.argv[1], local_dir='/opt/models/embedding', \
ignore_patterns=['onnx/*', 'openvino/*', '*.h5', '*.msgpack', '*.ot'])" "${EMBEDDING_MODEL}"
# Writes /opt/models/embedding/onnx/vetoflow-fp32.onnx, checked against torch on a probe batch.
RUN python -m vetoflow.rag.onnx_export --model /opt/models/embedding

# ---- build: the runtime virtualenv (ONNX Runtime, no torch, no CUDA) and the baked knowledge store ----
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY vetoflow ./vetoflow
# DL3013 justified: this installs the project itself; its dependency ranges are pinned in pyproject.toml.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[rag,ui,api]"
COPY --from=export /opt/models /opt/models
# Bake the knowledge corpus into a Chroma store built with that model (through ONNX); opened read-only at run time.
RUN VETOFLOW_HOME=/opt/vetoflow VETOFLOW_EMBEDDING_MODEL=/opt/models/embedding \
    vetoflow ingest vetoflow/examples/knowledge

# ---- runtime: slim, non-root, nothing writable but /tmp ----
# On Lambda (LAMBDA_TASK_ROOT set) vetoflow points HF_HOME, GRADIO_TEMP_DIR, MPLCONFIGDIR, XDG_* and TMPDIR
# under /tmp at start, copies the baked store to /tmp/vetoflow/chroma, and answers /healthz before the
# console is built and the embedding model is loaded (vetoflow/lambda_env.py, vetoflow/api/deferred.py).
FROM python:${PYTHON_VERSION}-slim-bookworm
COPY --from=public.ecr.aws/awsguru/aws-lambda-adapter:1.0.0 /lambda-adapter /opt/extensions/lambda-adapter
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/models /opt/models
COPY --from=build /opt/vetoflow/chroma /opt/vetoflow/chroma
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin vetoflow
USER 10001
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    VETOFLOW_EMBEDDING_MODEL=/opt/models/embedding \
    VETOFLOW_BAKED_CHROMA=/opt/vetoflow/chroma \
    AWS_LWA_PORT=8080 \
    AWS_LWA_READINESS_CHECK_PATH=/healthz \
    AWS_LWA_ASYNC_INIT=true \
    AWS_LWA_INVOKE_MODE=response_stream
EXPOSE 8080
CMD ["vetoflow", "serve", "--host", "0.0.0.0", "--port", "8080"]
