"""Sending the portal's mail (password-reset links, a sign-up with a taken address).

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

from flask import current_app

from .hosts import external_url
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


TAKEN_SUBJECT = "注册提醒 Sign-up attempt · 青岛市公共数据开放平台"
TAKEN_BODY = """\
{name}，您好：

有人用您的邮箱在青岛市公共数据开放平台注册了企业账户，但该邮箱已有账户，因此没有新建账户。
如果是您本人，请直接登录：{login}
忘记密码可在此重置：{forgot}
如果不是您本人，请忽略本邮件。

Hello {name},

Someone tried to register an enterprise account on the Qingdao Public Data portal with your
e-mail address. It already has an account, so no new one was made.
If it was you, sign in: {login}
Forgot the password? Reset it here: {forgot}
If it was not you, ignore this mail.

青岛市公共数据开放平台 · Qingdao Public Data
"""


def mail_registration_taken(to: str, name: str) -> None:
    """Tell the owner of an address that someone signed up with it (the sign-up itself
    answered as for a new address, so that it does not tell who has an account)."""
    body = TAKEN_BODY.format(
        name=name, login=external_url("web.login"), forgot=external_url("web.forgot_password")
    )
    try:
        send_mail(to, TAKEN_SUBJECT, body)
    except Exception:
        # Logged, not shown: an error here would tell that the address has an account.
        current_app.logger.exception("could not send the sign-up notice")


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


__all__ = ["build_message", "mail_registration_taken", "send_mail", "write_eml"]
