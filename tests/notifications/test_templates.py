"""The template catalog: every event x channel renders; broken templates stop the service at start-up."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from subgraphs.kit.settings import Settings
from subgraphs.notifications.app import create_app
from subgraphs.notifications.catalog import TemplateCatalog, TemplateCheckError
from subgraphs.notifications.config import TEMPLATES_DIR, NotificationConfig
from subgraphs.notifications.content import format_money, sample_contexts
from subgraphs.notifications.model import EVENT_TYPES, Channel
from tests.notifications.support import config_env, settings_env
from tests.support.mongo import TestMongo


@pytest.fixture(scope="module")
def catalog() -> TemplateCatalog:
    checked = TemplateCatalog(TEMPLATES_DIR)
    checked.check()
    return checked


@pytest.mark.parametrize("channel", list(Channel))
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_each_event_renders_its_own_template_for_each_channel(
    catalog: TemplateCatalog, event_type: str, channel: Channel
) -> None:
    for context in sample_contexts(event_type):
        rendered = catalog.render(event_type, channel, context)
        assert rendered.template == f"{event_type}/{channel.slug}"
        assert rendered.text.strip()
        assert "1001" in rendered.text or "1001" in (rendered.subject or "")
        if channel in {Channel.EMAIL, Channel.PUSH}:
            assert rendered.subject and "\n" not in rendered.subject
        else:
            assert rendered.subject is None
        if channel is Channel.EMAIL:
            assert rendered.html is not None and rendered.html.lstrip().startswith("<!DOCTYPE html>")
            assert "1001" in rendered.html
        else:
            assert rendered.html is None


def test_html_is_autoescaped_and_text_is_not(catalog: TemplateCatalog) -> None:
    rendered = catalog.render("order.created", Channel.EMAIL, sample_contexts("order.created")[0])
    assert "T-shirt &lt;M&gt;" in (rendered.html or "")
    assert "T-shirt <M>" in rendered.text
    assert "EUR 49.98" in rendered.text


def test_templates_follow_the_event_details(catalog: TemplateCatalog) -> None:
    final, retrying = sample_contexts("payment.failed")
    assert "could not process" in catalog.render("payment.failed", Channel.EMAIL, final).text
    assert "we will try again" in catalog.render("payment.failed", Channel.EMAIL, retrying).text
    full, partial = sample_contexts("payment.refunded")
    assert "partial" not in catalog.render("payment.refunded", Channel.SMS, full).text.lower()
    assert "partial" in catalog.render("payment.refunded", Channel.EMAIL, partial).subject.lower()  # type: ignore[union-attr]


def test_money_is_formatted_from_minor_units() -> None:
    assert format_money(4998, "EUR") == "EUR 49.98"
    assert format_money(500, "jpy") == "JPY 500"
    assert format_money(1234567, "USD") == "USD 12,345.67"
    assert format_money(1005, "KWD") == "KWD 1.005"
    assert format_money(-250, "EUR") == "EUR -2.50"


def broken_copy(tmp_path: Path, name: str, content: str | None) -> Path:
    directory = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, directory)
    target = directory / name
    if content is None:
        target.unlink()
    else:
        target.write_text(content)
    return directory


@pytest.mark.parametrize(
    ("name", "content", "complaint"),
    [
        ("order.paid/email.html", "{% extends '_layout.html' %}{% block content %}{{ total }{% endblock %}",
         "order.paid/email.html, line 1: syntax error"),
        ("payment.failed/sms.txt", "{{ shop_name }}: {{ amount_due }}", "payment.failed/sms.txt: does not render"),
        ("order.fulfilled/push.title.txt", None, "order.fulfilled/push.title.txt: missing template file"),
        ("_layout.html", "{% block content %}", "_layout.html, line 1: syntax error"),
        ("order.created/webhook.txt", "{% if lines %}{% endif %}", "renders to nothing"),
        # Only the non-final sample event takes this branch: StrictUndefined must see it too.
        ("payment.failed/email.txt", "{% if final %}ok{% else %}{{ retry_at }}{% endif %}",
         "payment.failed/email.txt: does not render"),
    ],
)
def test_a_broken_template_is_named_by_the_check(tmp_path: Path, name: str, content: str | None,
                                                 complaint: str) -> None:
    catalog = TemplateCatalog(broken_copy(tmp_path, name, content))
    with pytest.raises(TemplateCheckError) as caught:
        catalog.check()
    assert complaint in str(caught.value)
    with pytest.raises(RuntimeError, match="not been checked"):
        catalog.render("order.paid", Channel.EMAIL, sample_contexts("order.paid")[0])


async def test_a_broken_template_stops_the_service_at_start_up(
    redis_url: str, mongo: TestMongo, tmp_path: Path,
) -> None:
    directory = broken_copy(tmp_path, "order.cancelled/email.subject.txt", "Cancelled: {{ order.number | nope }}")
    app = create_app(
        Settings.from_env("notifications", env=settings_env(redis_url, mongo)),
        NotificationConfig.from_env(config_env(tmp_path, NOTIFICATIONS_TEMPLATES_DIR=str(directory))),
    )
    with pytest.raises(TemplateCheckError, match=r"order\.cancelled/email\.subject\.txt.*nope"):
        async with app.router.lifespan_context(app):
            pytest.fail("the service must not start with a broken template")
