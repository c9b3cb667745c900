# One image for every service and the gateway; compose.yaml picks the command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway gateway
COPY subgraphs subgraphs
COPY scripts scripts
RUN pip install --no-cache-dir .
ENV PYTHONUNBUFFERED=1 LOG_JSON=1
