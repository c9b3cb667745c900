# One image for every service, worker and the gateway; compose.yaml picks the command.

# GraphiQL's browser assets, from the npm registry at build time (never committed).
FROM node:20 AS graphiql
WORKDIR /app
COPY scripts/install_graphiql.py scripts/install_graphiql.py
RUN python3 scripts/install_graphiql.py --dir /app/var/graphiql

FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway gateway
COPY subgraphs subgraphs
COPY scripts scripts
COPY deploy deploy
RUN pip install --no-cache-dir .
COPY --from=graphiql /app/var/graphiql /app/var/graphiql
ENV PYTHONUNBUFFERED=1 LOG_JSON=1 GRAPHIQL_ASSETS_DIR=/app/var/graphiql
