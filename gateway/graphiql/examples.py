"""Example operations shown as the explorer's tabs, read from `.graphql` files.

Each file is one tab: a first comment line is its title, a `# variables: {...}` comment line gives
the variables editor's content, a `# headers: {...}` line the headers editor's (those two lines are
not repeated in the query editor, where a long line would be cut off); the rest is the operation.
Files are sorted by name. The gateway
knows nothing of the domain: the shop's examples are just the files shipped in `examples/`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

DEFAULT_EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
_VARIABLES_PREFIX = "# variables:"
_HEADERS_PREFIX = "# headers:"


@dataclass(frozen=True, slots=True)
class Example:
    title: str
    query: str
    variables: str | None = None
    headers: str | None = None

    def tab(self) -> dict[str, str]:
        tab = {"query": self.query}
        if self.variables:
            tab["variables"] = self.variables
        if self.headers:
            tab["headers"] = self.headers
        return tab


def _json_comment(line: str, prefix: str) -> str:
    raw = line[len(prefix) :].strip()
    try:
        return json.dumps(json.loads(raw), indent=2)
    except ValueError:
        return raw


def parse_example(text: str, fallback_title: str) -> Example:
    lines = text.strip().splitlines()
    title = fallback_title
    variables: str | None = None
    headers: str | None = None
    if lines and lines[0].startswith("#") and not lines[0].startswith((_VARIABLES_PREFIX, _HEADERS_PREFIX)):
        title = lines[0].lstrip("#").strip() or fallback_title
    shown: list[str] = []
    for line in lines:
        if line.startswith(_VARIABLES_PREFIX):
            variables = _json_comment(line, _VARIABLES_PREFIX)
        elif line.startswith(_HEADERS_PREFIX):
            headers = _json_comment(line, _HEADERS_PREFIX)
        else:
            shown.append(line)
    return Example(title=title, query="\n".join(shown).strip() + "\n", variables=variables, headers=headers)


def load_examples(directory: Path | None = None) -> list[Example]:
    directory = directory or DEFAULT_EXAMPLES_DIR
    if not directory.is_dir():
        return []
    return [
        parse_example(path.read_text(encoding="utf-8"), path.stem.replace("_", " "))
        for path in sorted(directory.glob("*.graphql"))
    ]
