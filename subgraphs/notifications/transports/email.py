"""EMAIL: multipart (plain text + HTML) messages over SMTP, or as .eml files in development."""

from __future__ import annotations

import asyncio
import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path

from subgraphs.notifications.config import SmtpConfig
from subgraphs.notifications.transports.base import DeliveryError, OutgoingMessage


def build_email(message: OutgoingMessage, sender: str) -> EmailMessage:
    """The MIME message: text/plain first, text/html as the preferred alternative. The Message-ID is
    derived from the notification id, so a re-sent message can be recognised as the same one (a
    receiver deduplicates on it); the Date is the attempt's first start, the same when it is repeated."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject or ""
    moment = message.prepared_at.timestamp() if message.prepared_at is not None else None
    email["Date"] = formatdate(moment, localtime=False, usegmt=True)
    email["Message-ID"] = f"<{message.notification_id}@{domain}>"
    email["X-Notification-Id"] = message.notification_id
    email["X-Notification-Template"] = message.template
    email.set_content(message.text)
    if message.html is not None:
        email.add_alternative(message.html, subtype="html")
    return email


def _classify(exc: Exception) -> DeliveryError:
    """4xx answers and connection trouble are transient, 5xx answers are final."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        transient = bool(codes) and all(400 <= code < 500 for code in codes)
        return DeliveryError(f"recipients refused: {exc.recipients}", transient=transient)
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return DeliveryError(f"SMTP {exc.smtp_code}: {detail}", transient=400 <= exc.smtp_code < 500)
    return DeliveryError(f"SMTP connection failed: {exc.__class__.__name__}: {exc}", transient=True)


class SmtpTransport:
    """stdlib smtplib in a worker thread: one connection per message (notifications are not bulk mail)."""

    def __init__(self, config: SmtpConfig, sender: str) -> None:
        self.config = config
        self.sender = sender

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _deliver(self, email: EmailMessage) -> None:
        config = self.config
        client: smtplib.SMTP
        if config.use_tls:
            client = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout_seconds,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds)
        with client:
            if config.starttls:
                client.starttls(context=ssl.create_default_context())
            if config.username:
                client.login(config.username, config.password or "")
            client.send_message(email)

    async def send(self, message: OutgoingMessage) -> str | None:
        email = build_email(message, self.sender)
        try:
            await asyncio.to_thread(self._deliver, email)
        except (smtplib.SMTPException, OSError) as exc:
            raise _classify(exc) from exc
        return str(email["Message-ID"])


class MaildirTransport:
    """Development default: each message becomes `<directory>/<notification id>.eml` (written atomically,
    so a repeated delivery replaces the file instead of adding another)."""

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    async def start(self) -> None:
        await asyncio.to_thread(self.directory.mkdir, parents=True, exist_ok=True)

    async def close(self) -> None:
        return None

    def _write(self, name: str, content: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / name
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target

    async def delivered(self, message: OutgoingMessage) -> bool:
        """The file is written atomically: if it is there, the message is complete."""
        return await asyncio.to_thread((self.directory / f"{message.notification_id}.eml").exists)

    async def send(self, message: OutgoingMessage) -> str | None:
        email = build_email(message, self.sender)
        try:
            path = await asyncio.to_thread(self._write, f"{message.notification_id}.eml", email.as_bytes())
        except OSError as exc:
            raise DeliveryError(f"cannot write the message file: {exc}", transient=True) from exc
        return str(path)
