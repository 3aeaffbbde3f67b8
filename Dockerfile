# syntax=docker/dockerfile:1
# One image for every Dagster service of docker-compose.yml (code server, webserver, daemon,
# celery worker). It holds both environments, built by the project's own Makefile as on a
# developer's machine: .venv (Dagster and the pipeline) and .venv-fairseq (fairseq, the judge the
# asset checks run through Pipes). docs/deployment.md says what was and was not run.

FROM python:3.11.14-slim-bookworm AS build
# CPU builds of torch for both environments: for Linux the default index has CUDA builds of
# several GB. (constraints/fairseq.txt pins torch's +cpu build: a CUDA image needs that pin
# changed as well as this index.)
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_EXTRA_INDEX_URL=${TORCH_INDEX_URL} \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# A compiler for fairseq-fixed, which builds from source. Debian's stable packages, not pinned:
# bookworm only ships security fixes for them.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The fairseq environment first: it takes longest and depends only on its constraints, so a code
# change rebuilds from the next layer on.
COPY Makefile ./
COPY constraints/ constraints/
RUN make venv-fairseq PYTHON=python3.11
COPY . .
RUN make venv PYTHON=python3.11

FROM python:3.11.14-slim-bookworm
# The same base as the build stage: both environments' interpreters link to its /usr/local/bin/python3.11.
RUN groupadd --gid 1000 dagster \
    && useradd --uid 1000 --gid dagster --create-home --shell /usr/sbin/nologin dagster
COPY --from=build /app /app
WORKDIR /app
# The instance's defaults, as compose sets them, so that a worker started with plain `docker run`
# needs only the host, the user and the password (docs/deployment.md, "Spreading steps over machines"; the user
# is not set here, as hadolint counts it among the credentials).
ENV PATH=/app/.venv/bin:$PATH \
    DAGSTER_HOME=/opt/dagster/home \
    DAGSTER_PG_PORT=5432 \
    DAGSTER_PG_DB=dagster \
    MM_DATA_ROOT=/data \
    PYTHONUNBUFFERED=1
# The code stays root's (read-only to the services); the instance's folder, its storage (compute
# logs, shared by the services through a volume) and the data root belong to the service user.
RUN mkdir -p /opt/dagster/home/storage /data \
    && cp /app/dagster.yaml /opt/dagster/home/dagster.yaml \
    && chown dagster:dagster /opt/dagster/home /opt/dagster/home/storage /data
# Numeric, so that Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 3000 4000
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "mm_assets.definitions"]
