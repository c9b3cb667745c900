"""The template catalog: Jinja2 templates per event type and channel, checked completely at start-up.

Layout: `<templates_dir>/<event type>/<file>` with, per channel,
EMAIL `email.subject.txt`, `email.txt`, `email.html`; SMS `sms.txt`; PUSH `push.title.txt`, `push.txt`;
WEBHOOK `webhook.txt` (the human-readable `message` of the JSON payload). Files starting with `_`
(layouts, macros) may be shared by all. HTML is autoescaped; undefined names are errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from subgraphs.notifications.content import sample_contexts
from subgraphs.notifications.model import EVENT_TYPES, Channel

# Which template files make up one channel's message: part name -> file name.
CHANNEL_PARTS: dict[Channel, dict[str, str]] = {
    Channel.EMAIL: {"subject": "email.subject.txt", "text": "email.txt", "html": "email.html"},
    Channel.SMS: {"text": "sms.txt"},
    Channel.PUSH: {"subject": "push.title.txt", "text": "push.txt"},
    Channel.WEBHOOK: {"text": "webhook.txt"},
}

_WHITESPACE = re.compile(r"\s+")


class TemplateCheckError(RuntimeError):
    """A template is missing, does not compile or does not render: the service must not start."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("notification templates failed the start-up check:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Rendered:
    """One channel's message for one event: `subject` for email and push, `html` for email only."""

    template: str
    subject: str | None
    text: str
    html: str | None


def template_name(event_type: str, channel: Channel) -> str:
    return f"{event_type}/{channel.slug}"


def _describe(exc: Exception, name: str) -> str:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"{exc.filename or exc.name or name}, line {exc.lineno}: syntax error: {exc.message}"
    if isinstance(exc, jinja2.TemplateNotFound):
        return f"{name}: missing template file"
    return f"{name}: {exc.__class__.__name__}: {exc}"


class TemplateCatalog:
    def __init__(self, directory: Path, shop_name: str = "Supershop") -> None:
        self.directory = directory
        self.shop_name = shop_name
        self.env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(str(directory)),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html", "htm"), default_for_string=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self._templates: dict[tuple[str, Channel, str], jinja2.Template] = {}

    def check(self) -> None:
        """Compile every file, then render every event x channel with each sample context.

        Raises TemplateCheckError naming every broken file; on success the catalog is ready to render.
        """
        if not self.directory.is_dir():
            raise TemplateCheckError([f"{self.directory}: the templates directory does not exist"])
        problems: list[str] = []
        for name in self.env.list_templates():
            try:
                self.env.get_template(name)
            except Exception as exc:
                problems.append(_describe(exc, name))
        loaded: dict[tuple[str, Channel, str], jinja2.Template] = {}
        for event_type in EVENT_TYPES:
            for channel, parts in CHANNEL_PARTS.items():
                for part, filename in parts.items():
                    name = f"{event_type}/{filename}"
                    try:
                        loaded[event_type, channel, part] = self.env.get_template(name)
                    except Exception as exc:
                        message = _describe(exc, name)
                        if message not in problems:
                            problems.append(message)
        if not problems:
            self._templates = loaded
            for event_type in EVENT_TYPES:
                for context in sample_contexts(event_type, self.shop_name):
                    for channel in CHANNEL_PARTS:
                        problems.extend(self._check_render(event_type, channel, context))
        if problems:
            self._templates = {}
            raise TemplateCheckError(sorted(set(problems)))

    def _check_render(self, event_type: str, channel: Channel, context: dict[str, Any]) -> list[str]:
        problems = []
        for part, filename in CHANNEL_PARTS[channel].items():
            try:
                output = self._templates[event_type, channel, part].render(context)
            except Exception as exc:
                problems.append(f"{event_type}/{filename}: does not render with the sample context: "
                                f"{exc.__class__.__name__}: {exc}")
                continue
            if not output.strip():
                problems.append(f"{event_type}/{filename}: renders to nothing with the sample context")
        return problems

    def render(self, event_type: str, channel: Channel, context: dict[str, Any]) -> Rendered:
        """Render one channel's message (after `check`). Subjects are single lines (no header injection)."""
        if not self._templates:
            raise RuntimeError("the template catalog has not been checked (call check() at start-up)")
        output = {
            part: self._templates[event_type, channel, part].render(context).strip()
            for part in CHANNEL_PARTS[channel]
        }
        subject = output.get("subject")
        return Rendered(
            template=template_name(event_type, channel),
            subject=_WHITESPACE.sub(" ", subject).strip() if subject is not None else None,
            text=output["text"],
            html=output.get("html"),
        )
