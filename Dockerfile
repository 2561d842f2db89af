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

# Everything, torch included, installs from PyPI by its requirement in pyproject.toml (torch>=2.4,<2.14); there is
# no `--index-url` to another wheel index. CPU wheel choice: the workers here train on CPU (one single-threaded
# torch process per core, MLTRAIN_TORCH_THREADS=1, device auto -> cpu without a GPU). On linux/arm64 PyPI's torch
# wheel is the CPU-only build; on linux/amd64 PyPI's wheel also pulls the CUDA runtime wheels (nvidia-*, a few GB),
# which stay unused on a CPU host: a larger image, the same CPU code path. GPU workers use the same image on a
# host with the NVIDIA container runtime and `--queues gpu`.
COPY pyproject.toml README.md alembic.ini ./
COPY ml ml
COPY app app
COPY worker worker
COPY migrations migrations
# Editable, so app.migrate finds alembic.ini and migrations/ beside the package in /srv/mltrain.
RUN pip install -e . && mkdir -p var/objects var/uploads /data && chown -R mltrain:mltrain var

USER mltrain
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=5 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)" || exit 1
CMD ["uvicorn", "app.main:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
