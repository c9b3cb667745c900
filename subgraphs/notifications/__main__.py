"""`python -m subgraphs.notifications [serve|check-templates|sdl]`."""

from __future__ import annotations

import argparse
import sys

from subgraphs.kit.serve import run_service
from subgraphs.kit.settings import Settings
from subgraphs.notifications.catalog import TemplateCatalog, TemplateCheckError
from subgraphs.notifications.config import NotificationConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m subgraphs.notifications")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "check-templates", "sdl"],
                        help="serve (default); check-templates: compile and sample-render every template; "
                             "sdl: print the subgraph SDL")
    args = parser.parse_args(argv)
    if args.command == "check-templates":
        config = NotificationConfig.from_env()
        try:
            TemplateCatalog(config.templates_dir, config.shop_name).check()
        except TemplateCheckError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"templates in {config.templates_dir} are fine")
        return 0
    if args.command == "sdl":
        from subgraphs.notifications.schema import build_schema

        print(build_schema().as_str())
        return 0
    from subgraphs.notifications.app import create_app

    settings = Settings.from_env("notifications")
    run_service(settings, create_app(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
