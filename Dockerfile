# mltrain: one image for the API and the workers (CPU). GPU workers: build FROM a CUDA base with a CUDA torch.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MLTRAIN_OBJECT_DIR=/data/objects MLTRAIN_DATASET_ROOTS=/data/datasets
RUN apt-get update && apt-get install -y --no-install-recommends libsndfile1 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY ml ml
COPY app app
COPY worker worker
COPY migrations migrations
# The CPU wheel of torch: the generic PyPI wheel pulls several GB of CUDA libraries a CPU worker never uses.
RUN pip install --no-cache-dir "torch>=2.4,<2.14" --index-url https://download.pytorch.org/whl/cpu \
    && pip install --no-cache-dir .
RUN useradd --create-home mltrain && mkdir -p /data && chown mltrain /data
USER mltrain
EXPOSE 8000
CMD ["mltrain", "serve", "--host", "0.0.0.0", "--no-worker"]
