"""The payments subgraph: idempotent payments on an arq queue, safe retries, refunds."""
