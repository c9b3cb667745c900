"""Example operations shown as the explorer's tabs, read from `.graphql` files.

Each file is one tab: a first comment line is its title, a `# variables: {...}` comment line gives
the variables editor's content; the rest is the operation. Files are sorted by name. The gateway
knows nothing of the domain: the shop's examples are just the files shipped in `examples/`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

DEFAULT_EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
_VARIABLES_PREFIX = "# variables:"


@dataclass(frozen=True, slots=True)
class Example:
    title: str
    query: str
    variables: str | None = None

    def tab(self) -> dict[str, str]:
        tab = {"query": self.query}
        if self.variables:
            tab["variables"] = self.variables
        return tab


def parse_example(text: str, fallback_title: str) -> Example:
    lines = text.strip().splitlines()
    title = fallback_title
    variables: str | None = None
    if lines and lines[0].startswith("#") and not lines[0].startswith(_VARIABLES_PREFIX):
        title = lines[0].lstrip("#").strip() or fallback_title
    for line in lines:
        if line.startswith(_VARIABLES_PREFIX):
            raw = line[len(_VARIABLES_PREFIX) :].strip()
            try:
                variables = json.dumps(json.loads(raw), indent=2)
            except ValueError:
                variables = raw
    return Example(title=title, query=text.strip() + "\n", variables=variables)


def load_examples(directory: Path | None = None) -> list[Example]:
    directory = directory or DEFAULT_EXAMPLES_DIR
    if not directory.is_dir():
        return []
    return [
        parse_example(path.read_text(encoding="utf-8"), path.stem.replace("_", " "))
        for path in sorted(directory.glob("*.graphql"))
    ]
