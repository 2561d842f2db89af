# mltrain: one image for the API, the workers and the sweeper (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MLTRAIN_OBJECT_DIR=/srv/mltrain/var/objects \
    MLTRAIN_UPLOAD_DIR=/srv/mltrain/var/uploads \
    MLTRAIN_DATASET_ROOTS=/data

WORKDIR /srv/mltrain
RUN useradd --create-home --uid 10001 mltrain

# torch comes from the PyTorch CPU wheel index first: PyPI's linux/amd64 torch wheel pulls several GB of CUDA
# runtime that a CPU worker never uses. Everything else installs from PyPI; the pyproject range (>=2.4,<2.14) is
# then already satisfied. GPU workers: build from a CUDA base image with a CUDA torch and run `--queues gpu`.
COPY pyproject.toml README.md alembic.ini ./
COPY ml ml
COPY app app
COPY worker worker
COPY migrations migrations
# Editable, so app.migrate finds alembic.ini and migrations/ beside the package in /srv/mltrain.
RUN pip install "torch>=2.4,<2.14" --index-url https://download.pytorch.org/whl/cpu \
    && pip install -e . && mkdir -p var/objects var/uploads var/work /data && chown -R mltrain:mltrain var

USER mltrain
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=5 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)" || exit 1
CMD ["uvicorn", "app.main:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
