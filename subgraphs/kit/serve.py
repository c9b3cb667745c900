"""`python -m subgraphs.<name>`: run one service with uvicorn on its configured host and port."""

from __future__ import annotations

import logging

import uvicorn
from starlette.applications import Starlette

from subgraphs.kit.logs import configure_logging
from subgraphs.kit.settings import Settings

# After SIGTERM, open connections get this long before uvicorn closes them (deploy/k8s sizes each
# pod's terminationGracePeriodSeconds from it).
GRACEFUL_SHUTDOWN_SECONDS = 10


def run_service(settings: Settings, app: Starlette) -> None:
    configure_logging(settings.service, settings.log_level, settings.log_json)
    logging.getLogger(settings.service).info(
        "%s listening on http://%s:%d/graphql", settings.service, settings.host, settings.port
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, lifespan="on",
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
