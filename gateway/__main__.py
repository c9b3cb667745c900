"""Command line: serve, compose, plan, token."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from authn.scopes import describe_scopes

from .config import Settings
from .http1 import IMPORT_STRING as HTTP_IMPORT_STRING
from .http1 import UVICORN_HTTPTOOLS


def _compose(config_path: str) -> str:
    # Imported lazily: composition is built separately and may not exist yet.
    from .composition import compose_config

    return compose_config(config_path)


def _composition_error() -> type[Exception]:
    try:
        from .composition import CompositionError
    except ImportError:  # pragma: no cover - composition package not there yet
        return RuntimeError
    return CompositionError


def cmd_serve(args: argparse.Namespace) -> int:
    env = os.environ
    if args.config:
        return _serve_composing(args)
    if args.supergraph:
        env["GATEWAY_SUPERGRAPH"] = str(Path(args.supergraph).resolve())
    if not env.get("GATEWAY_SUPERGRAPH"):
        print("serve needs --supergraph FILE or --config FILE (or GATEWAY_SUPERGRAPH)", file=sys.stderr)
        return 2
    settings = _settings()
    if settings is None:
        return 1
    # Fail fast on a bad supergraph before forking workers.
    from .supergraph import SupergraphError, parse_supergraph

    try:
        parse_supergraph(settings.load_supergraph_sdl())
    except (OSError, SupergraphError) as exc:
        print(f"cannot load supergraph: {exc}", file=sys.stderr)
        return 1
    _run_uvicorn("gateway.server:create_app_from_env", args, settings, factory=True)
    return 0


def _serve_composing(args: argparse.Namespace) -> int:
    """`serve --config`: compose at start-up, retrying while subgraphs are unavailable (gateway.compose_retry).

    One worker: the server listens at once (`/health` 200, `/ready` 503 until composed). Several
    workers: the parent composes (same retries, nothing listening yet), then forks them."""
    import asyncio

    from .compose_retry import ComposeRetry, CompositionGaveUp, compose_until_ready

    _log_startup()
    settings = _settings()
    if settings is None:
        return 1
    try:
        retry = ComposeRetry.from_env(deadline=args.compose_deadline)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.workers and args.workers > 1:
        try:
            sdl = asyncio.run(compose_until_ready(args.config, retry))
        except CompositionGaveUp:
            return 1
        fd, name = tempfile.mkstemp(suffix=".graphql", prefix="supergraph-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(sdl)
        os.environ["GATEWAY_SUPERGRAPH"] = name
        _run_uvicorn("gateway.server:create_app_from_env", args, settings, factory=True)
        return 0

    import uvicorn

    from .startup import ComposingApp

    gave_up: list[bool] = []
    server: uvicorn.Server | None = None

    def give_up() -> None:
        gave_up.append(True)
        if server is not None:
            server.should_exit = True

    from .metrics import with_metrics

    app = with_metrics(ComposingApp(args.config, settings, retry, give_up), production=settings.production)
    server = uvicorn.Server(uvicorn.Config(app, **_uvicorn_options(args, settings)))
    server.run()
    return 1 if gave_up else 0


def _settings() -> Settings | None:
    try:
        return Settings.from_env()
    except ValueError as exc:  # a bad value, or production on development defaults
        print(str(exc), file=sys.stderr)
        return None


def _log_startup(level: str | None = None) -> None:
    """The gateway's log lines on stderr (gateway.logs); uvicorn keeps no handlers of its own."""
    from .logs import configure_from_env

    configure_from_env(level)


def _uvicorn_options(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    return {
        "host": args.host or settings.host,
        "port": args.port if args.port is not None else settings.port,
        "log_level": args.log_level,
        "log_config": None,  # gateway.logs configures every logger, uvicorn's included
        "access_log": False,  # gateway.access writes the access line
        "loop": "uvloop",
        # gateway.http1 (an import string: multi-worker runs import it too), or uvicorn's own
        "http": HTTP_IMPORT_STRING if settings.http_protocol == "gateway" else UVICORN_HTTPTOOLS,
        "lifespan": "on",
        # client addresses come from the TCP peer; the gateway itself trusts TRUSTED_PROXIES only
        "proxy_headers": False,
    }


def _run_uvicorn(app: str, args: argparse.Namespace, settings: Settings, *, factory: bool) -> None:
    import uvicorn

    from .metrics import multiprocess_dir

    workers = args.workers if args.workers and args.workers > 1 else None
    with multiprocess_dir(workers or 1):  # the workers' shared metrics files (gateway.metrics)
        uvicorn.run(app, factory=factory, workers=workers, **_uvicorn_options(args, settings))


def cmd_compose(args: argparse.Namespace) -> int:
    try:
        sdl = _compose(args.config)
    except _composition_error() as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if args.output:
        Path(args.output).write_text(sdl, encoding="utf-8")
    else:
        sys.stdout.write(sdl if sdl.endswith("\n") else sdl + "\n")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    import json

    from .planning import RequestError, prepare_operation
    from .supergraph import SupergraphError, build_api_schema, parse_supergraph

    try:
        sdl = Path(args.supergraph).read_text(encoding="utf-8")
        supergraph = parse_supergraph(sdl)
        schema = build_api_schema(sdl)
        query = _query_text(args.query)
    except (OSError, UnicodeDecodeError, SupergraphError) as exc:
        print(f"cannot plan: {exc}", file=sys.stderr)
        return 1
    try:
        prepared = prepare_operation(query, args.operation_name, schema, supergraph)
        # every @defer in force (as for a client that accepts multipart/mixed)
        plan = prepared.plan_for(frozenset(args.label or ()), frozenset(d.id for d in prepared.defers))
    except RequestError as exc:
        for error in exc.errors:
            print(error["message"], file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(plan.to_json(), indent=2))
    else:
        print(plan.to_text())
    return 0


def _query_text(argument: str) -> str:
    """The operation: stdin for "-", the file's text when the argument names a file, else the argument."""
    if argument == "-":
        return sys.stdin.read()
    try:
        is_file = Path(argument).is_file()
    except (OSError, ValueError):  # not a usable path (too long, NUL byte...): it is the query itself
        is_file = False
    return Path(argument).read_text(encoding="utf-8") if is_file else argument


def cmd_token(args: argparse.Namespace) -> int:
    from .auth import make_dev_token

    settings = Settings.from_env()
    if not settings.jwt_secret:
        print("token needs JWT_SECRET (an HS256 key); asymmetric keys are minted by your identity provider",
              file=sys.stderr)
        return 2
    scopes = [scope for value in args.scope or [] for scope in value.replace(",", " ").split()]
    extra = {"email": args.email} if args.email else None
    print(make_dev_token(args.sub, scopes, args.ttl, settings.jwt_secret,
                         settings.jwt_issuer, settings.jwt_audience, extra))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gateway", description="Federation 2 gateway")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway HTTP server")
    source = serve.add_mutually_exclusive_group()
    source.add_argument("--supergraph", help="supergraph SDL file")
    source.add_argument("--config", help="supergraph.yaml composition config (composed at start-up)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="warning")
    serve.add_argument(
        "--compose-deadline", type=float, default=None, metavar="SECONDS",
        help="with --config: keep retrying unavailable subgraphs this long, then exit 1 "
             "(default GATEWAY_COMPOSE_DEADLINE_SECONDS or 300)",
    )
    serve.set_defaults(func=cmd_serve)

    compose = sub.add_parser("compose", help="compose subgraphs from a config into a supergraph")
    compose.add_argument("config")
    compose.add_argument("-o", "--output")
    compose.set_defaults(func=cmd_compose)

    plan = sub.add_parser("plan", help="print the query plan of an operation")
    plan.add_argument("--supergraph", required=True)
    plan.add_argument("query", help="operation text, a file holding it, or - for stdin")
    plan.add_argument("--operation-name", default=None)
    plan.add_argument("--label", action="append", help="progressive override label to switch on")
    plan.add_argument("--json", action="store_true", help="print the JSON form")
    plan.set_defaults(func=cmd_plan)

    token = sub.add_parser(
        "token",
        help="print a development JWT (HS256, JWT_SECRET)",
        description="Print a development JWT signed with JWT_SECRET (HS256), for the Authorization header.",
        epilog="scopes the services check:\n" + describe_scopes()
        + "\n\nWithout a scope a token is a customer: their own cart, orders, payments and notifications.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    token.add_argument("--sub", required=True, help="the user id (claim sub)")
    token.add_argument("--scope", action="append", metavar="SCOPE",
                       help="a scope to grant (repeatable, or several separated by spaces or commas)")
    token.add_argument("--email", help="claim email: orders records it and notifications email the user there")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until it expires (default 3600)")
    token.set_defaults(func=cmd_token)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
