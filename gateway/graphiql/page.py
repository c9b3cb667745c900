"""HTML for the explorer page, and for the page shown when its assets are not installed."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .assets import OWN_SCRIPTS, SCRIPTS, STYLESHEETS
from .examples import Example


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element (no `</script>`, no HTML comment openers)."""
    text = json.dumps(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def build_explorer_html(
    *,
    endpoint: str,
    assets_prefix: str,
    examples: Sequence[Example],
    title: str = "GraphiQL",
    default_headers: Mapping[str, str] | None = None,
) -> str:
    """The GraphiQL page: every asset from `assets_prefix` on this server, nothing from the internet.

    `endpoint` is the GraphQL path; the page derives the ws:// URL for subscriptions from it.
    `default_headers` (development: a dev token) fill the headers editor of every tab that names none.
    """
    prefix = assets_prefix.rstrip("/")
    tabs = [example.tab() for example in examples]
    config: dict[str, Any] = {"endpoint": endpoint, "tabs": tabs}
    if default_headers:
        headers = json.dumps(dict(default_headers), indent=2)
        config["defaultHeaders"] = headers
        for tab in tabs:
            tab.setdefault("headers", headers)
    styles = "\n".join(f'    <link rel="stylesheet" href="{html.escape(f"{prefix}/{name}")}">' for name in STYLESHEETS)
    scripts = "\n".join(
        f'    <script src="{html.escape(f"{prefix}/{name}")}"></script>' for name in (*SCRIPTS, *OWN_SCRIPTS)
    )
    return f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{html.escape(title)}</title>
{styles}
    <style>
      html, body {{ height: 100%; margin: 0; }}
      #graphiql {{ height: 100vh; }}
    </style>
  </head>
  <body>
    <div id="graphiql">Loading the explorer…</div>
    <script id="graphiql-config" type="application/json">{_script_json(config)}</script>
{scripts}
  </body>
</html>
"""


def build_setup_html(missing: Sequence[str], assets_dir: str) -> str:
    """Shown instead of the explorer when its npm assets are absent: how to install them."""
    items = "\n".join(f"      <li><code>{html.escape(name)}</code></li>" for name in missing)
    return f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>GraphiQL is not installed</title>
    <style>
      body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 3rem auto; line-height: 1.5; }}
      code, pre {{ background: #f3f3f3; padding: 0.1rem 0.3rem; }}
    </style>
  </head>
  <body>
    <h1>GraphiQL is not installed</h1>
    <p>The GraphQL endpoint works (POST queries to it, or connect a WebSocket or SSE client);
    only the browser explorer is missing. Its files are installed from the npm registry at setup
    time into <code>{html.escape(assets_dir)}</code>. Run:</p>
    <pre>make setup</pre>
    <p>or, with Node.js and npm on the machine:</p>
    <pre>python -m scripts.install_graphiql</pre>
    <p>then reload this page. Missing files:</p>
    <ul>
{items}
    </ul>
  </body>
</html>
"""
