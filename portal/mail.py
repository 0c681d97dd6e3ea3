"""Sending the portal's mail (password-reset links).

With `smtp_url` set, mail goes to that server over STARTTLS (`smtp://`, port 587 by
default) or implicit TLS (`smtps://`, port 465); without it each message is written to
`<instance>/mail/` as an `.eml` file, so a laptop or a test can read it.
"""

from __future__ import annotations

import os
import secrets
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .services import settings

SMTP_TIMEOUT = 30  # seconds; a hung mail server must not hold a web worker for ever


def send_mail(to: str, subject: str, body: str) -> None:
    """Send a plain-text message to `to` with the current app's settings."""
    config = settings()
    msg = build_message(config.mail_from, to, subject, body)
    if config.smtp_url:
        _send_smtp(config.smtp_url, msg)
    else:
        write_eml(config.instance_dir / "mail", msg)


def build_message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()  # its default policy refuses line breaks in headers (no injection)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    domain = parseaddr(sender)[1].rpartition("@")[2]
    msg["Message-ID"] = make_msgid(domain=domain or None)
    msg.set_content(body)
    return msg


def write_eml(folder: Path, msg: EmailMessage) -> Path:
    """Write `msg` to a new file in `folder`, readable by the owner only (it may hold a
    reset link)."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(4)}.eml"
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(msg.as_bytes())
    return path


def _send_smtp(smtp_url: str, msg: EmailMessage) -> None:
    url = urlsplit(smtp_url)
    if url.scheme not in ("smtp", "smtps") or not url.hostname:
        raise ValueError(f"smtp_url must be smtp://host[:port] or smtps://…, not {url.scheme!r}")
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if url.scheme == "smtps":
        client = smtplib.SMTP_SSL(
            url.hostname, url.port or 465, timeout=SMTP_TIMEOUT, context=context
        )
    else:
        client = smtplib.SMTP(url.hostname, url.port or 587, timeout=SMTP_TIMEOUT)
    with client:
        if url.scheme == "smtp":
            # Required, not opportunistic: the mail carries a reset link and the login.
            client.starttls(context=context)
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(msg)


__all__ = ["build_message", "send_mail", "write_eml"]
