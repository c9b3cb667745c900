"""The standalone worker entry point and the command line."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from subgraphs.notifications.__main__ import main
from subgraphs.notifications.config import TEMPLATES_DIR, NotificationConfig, SmtpConfig
from subgraphs.notifications.delivery import DELIVER_JOB
from subgraphs.notifications.model import QUEUE_NAME
from subgraphs.notifications.worker import WorkerSettings
from tests.support.subprocess_run import run_python


def test_worker_settings_name_the_queue_and_the_jobs() -> None:
    assert WorkerSettings.queue_name == QUEUE_NAME == "notifications"
    assert [f.name for f in WorkerSettings.functions] == [DELIVER_JOB]
    assert WorkerSettings.functions[0].max_tries == 5 + 3
    assert [job.name for job in WorkerSettings.cron_jobs] == ["cron:sweep_stale"]


RUN_THE_WORKER = """
import asyncio
from subgraphs.notifications.delivery import Deliverer
from subgraphs.notifications.store import NotificationStore
from subgraphs.notifications.worker import _shutdown, _startup

async def main():
    ctx = {}
    await _startup(ctx)
    try:
        assert isinstance(ctx["deliverer"], Deliverer) and isinstance(ctx["store"], NotificationStore)
        print(await ctx["deliverer"].deliver("ntf_unknown"))
    finally:
        await _shutdown(ctx)

asyncio.run(main())
"""


async def test_worker_startup_builds_its_own_delivery_components(redis_url: str, tmp_path: Path) -> None:
    # In a process of its own, as a deployed worker starts (in the test process, after hundreds of other
    # tests on a busy machine, a worker's start-up in the test's loop once waited forever).
    env = {key: value for key, value in os.environ.items() if key != "MONGODB_URL"}
    env.update({"REDIS_URL": redis_url, "NOTIFICATIONS_MAILDIR": str(tmp_path / "mail"), "LOG_LEVEL": "WARNING"})
    out = await run_python(RUN_THE_WORKER, env)
    assert out.strip().splitlines()[-1] == "MISSING"


def test_check_templates_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NOTIFICATIONS_TEMPLATES_DIR", str(TEMPLATES_DIR))
    assert main(["check-templates"]) == 0
    broken = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, broken)
    (broken / "order.paid" / "sms.txt").write_text("{% for %}")
    monkeypatch.setenv("NOTIFICATIONS_TEMPLATES_DIR", str(broken))
    assert main(["check-templates"]) == 1
    assert "order.paid/sms.txt, line 1: syntax error" in capsys.readouterr().err


def test_configuration_from_the_environment(tmp_path: Path) -> None:
    config = NotificationConfig.from_env({
        "SMTP_URL": "smtp://mailer:s%40cret@mail.example.com:2525", "SMTP_STARTTLS": "true",
        "NOTIFICATIONS_RETRY_BASE_SECONDS": "2", "NOTIFICATIONS_RETRY_MAX_SECONDS": "60",
    })
    assert config.smtp == SmtpConfig(host="mail.example.com", port=2525, username="mailer", password="s@cret",
                                     starttls=True, use_tls=False, timeout_seconds=10.0)
    assert [config.retry_delay(n) for n in (1, 2, 3, 4)] == [2, 8, 32, 60]
    assert NotificationConfig.from_env({}).smtp is None
    assert NotificationConfig.from_env({"SMTP_URL": "smtps://mail.example.com"}).smtp.port == 465  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="SMTP_URL"):
        NotificationConfig.from_env({"SMTP_URL": "http://mail.example.com"})


def test_the_docs_show_the_current_schema() -> None:
    from subgraphs.notifications.schema import build_schema

    docs = (Path(__file__).resolve().parents[2] / "docs" / "notifications.md").read_text()
    assert f"```graphql\n{build_schema().as_str().rstrip()}\n```" in docs


def test_webhook_signature_helper_rejects_tampering_and_old_timestamps() -> None:
    from subgraphs.notifications.transports.webhook import signature_header, verify_signature

    header = signature_header("secret", 1_700_000_000, b'{"a":1}')
    assert verify_signature("secret", header, b'{"a":1}', now=1_700_000_100)
    assert not verify_signature("secret", header, b'{"a":2}', now=1_700_000_100)
    assert not verify_signature("other", header, b'{"a":1}', now=1_700_000_100)
    assert not verify_signature("secret", header, b'{"a":1}', now=1_700_001_000)
    assert not verify_signature("secret", "garbage", b'{"a":1}')
