"""GraphQL over Server-Sent Events, "distinct connections mode" of the graphql-sse protocol.

One request (POST with a JSON body, or GET with query parameters) with `Accept: text/event-stream`
opens one stream: `event: next` per result, then `event: complete`. A subscription whose events
carry an id is resumable: each `next` has an `id:` line, and a reconnection's `Last-Event-ID`
becomes the subscription's cursor argument (the convention is in gateway.subscriptions.resume).
Errors found before execution are reported inside the accepted stream as a `next` event, as the
protocol asks. The client ends a subscription by closing the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from .. import metrics
from ..errors import RequestError, error_dict
from ..request import (
    HttpError,
    InvalidRequest,
    accepts,
    check_content_type,
    payload_from_body,
    payload_from_query,
    read_body,
)
from .executor import OperationError, OperationExecutor, as_stream
from .limits import ConnectionLimiter
from .request import ClientContext, GraphQLRequest
from .resume import ResumePoint, SseResumption
from .settings import SubscriptionSettings

logger = logging.getLogger("gateway.subscriptions.sse")

EVENT_STREAM = "text/event-stream"


def wants_event_stream(request: Request) -> bool:
    return accepts(request.headers.get("accept", ""), EVENT_STREAM)


async def read_request(request: Request, max_bytes: int = 0) -> GraphQLRequest:
    """The request of a GET (query parameters) or a POST (JSON body), read and checked as the HTTP
    front end does (gateway.request): the same Content-Type rule, the same body limit, and a GET
    marked so that a mutation in it is refused."""
    if request.method == "GET":
        return GraphQLRequest.from_payload(payload_from_query(request.query_params), via_get=True)
    if request.method != "POST":
        raise HttpError(
            405,
            [error_dict(f"Method {request.method} is not allowed; use GET or POST.", "BAD_REQUEST")],
            {"allow": "GET, POST"},
        )
    check_content_type(request.headers.get("content-type", ""))
    body = await read_body(request.receive, max_bytes, request.headers)
    return GraphQLRequest.from_payload(payload_from_body(body))


def _refusal(exc: RequestError) -> Response:
    """A request refused before any stream opens (method, media type, size): a plain HTTP error."""
    headers = exc.headers if isinstance(exc, HttpError) else None
    metrics.note_refusal(exc.errors)
    return Response(orjson.dumps({"errors": exc.errors}), exc.status, headers=headers, media_type="application/json")


def _event(name: str, data: Any = None, event_id: str | None = None) -> bytes:
    body = b"" if data is None else orjson.dumps(data)
    head = b"" if event_id is None else b"id: " + event_id.encode() + b"\n"
    return head + b"event: " + name.encode() + b"\ndata: " + body + b"\n\n"


def _errors_event(errors: list[dict[str, Any]]) -> bytes:
    metrics.note_response({"errors": errors})  # the stream's outcome is `error`, as an HTTP answer's would be
    return _event("next", {"errors": errors})


async def _results(
    executor: OperationExecutor,
    graphql_request: GraphQLRequest,
    context: ClientContext,
    keepalive: float,
    point: ResumePoint | None = None,
) -> AsyncIterator[bytes]:
    """Run the operation in a task so idle periods can emit keep-alive comments."""
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def produce() -> None:
        stream = None
        try:
            stream = as_stream(await executor.run(graphql_request, context))
            async for result in stream:
                metrics.note_response(result)
                await queue.put(_event("next", result, point.event_id(result) if point else None))
        except OperationError as exc:
            await queue.put(_errors_event(exc.errors))
        except Exception:
            logger.exception("SSE operation failed")
            await queue.put(
                _errors_event([{"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}])
            )
        finally:
            if stream is not None:
                await stream.aclose()
            queue.put_nowait(None)

    producer = asyncio.create_task(produce(), name="sse-operation")
    try:
        while True:
            try:
                if keepalive > 0:
                    item = await asyncio.wait_for(queue.get(), keepalive)
                else:
                    item = await queue.get()
            except TimeoutError:
                yield b":\n\n"
                continue
            if item is None:
                break
            yield item
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer


async def sse_response(
    request: Request,
    executor: OperationExecutor,
    settings: SubscriptionSettings,
    limiter: ConnectionLimiter,
    max_bytes: int = 0,
) -> Response:
    # The body is read before streaming starts: the response then listens for the disconnect.
    try:
        graphql_request: GraphQLRequest | InvalidRequest = await read_request(request, max_bytes)
    except InvalidRequest as exc:
        graphql_request = exc
    except HttpError as exc:
        return _refusal(exc)
    point: ResumePoint | None = None
    if isinstance(graphql_request, GraphQLRequest):
        resumption = SseResumption(settings.sse_cursor_argument, settings.sse_event_id_field)
        graphql_request, point = resumption.prepare(graphql_request, request.headers.get("last-event-id"))

    async def events() -> AsyncIterator[bytes]:
        if isinstance(graphql_request, InvalidRequest):
            yield _errors_event(graphql_request.errors)
            yield _event("complete")
            return
        if not limiter.try_acquire():
            metrics.count_refusal("limit")
            yield _errors_event([{"message": limiter.refusal(), "extensions": {"code": "TOO_MANY_CONNECTIONS"}}])
            yield _event("complete")
            return
        try:
            context = ClientContext.build(request.headers, peer=request.client.host if request.client else None)
            keepalive = settings.sse_keepalive_interval
            async for chunk in _results(executor, graphql_request, context, keepalive, point):
                yield chunk
            yield _event("complete")
        finally:
            limiter.release()

    return StreamingResponse(
        events(),
        media_type=EVENT_STREAM,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
