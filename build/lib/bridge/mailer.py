"""Sends a curator notice over SMTP (aiosmtplib) with a stable Message-ID per notice."""

from __future__ import annotations

import hashlib
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib

from bridge.config import MailSettings


class NotConfigured(RuntimeError):
    pass


def message_id(key: str, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "alertbridge.invalid"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


# CRLF line ends, and headers folded only past SMTP's line limit (a folded Subject reads back with a space)
POLICY = policy.SMTP.clone(max_line_length=998)


def build(payload: dict[str, Any], key: str, settings: MailSettings) -> EmailMessage:
    msg = EmailMessage(policy=POLICY)
    msg["From"] = settings.sender
    msg["To"] = formataddr((payload.get("to_name") or "", payload["to"]))
    msg["Subject"] = payload["subject"]
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id(key, settings.sender)
    if payload.get("thread") and payload["thread"] != key:
        ref = message_id(payload["thread"], settings.sender)
        msg["In-Reply-To"] = ref
        msg["References"] = ref
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Alertbridge-Incident"] = str(payload.get("incident_id", ""))
    if payload.get("ticket"):
        msg["X-Alertbridge-Ticket"] = str(payload["ticket"])
    body = payload["body"]
    msg.set_content(body, charset="utf-8", cte="7bit" if body.isascii() else "quoted-printable")
    return msg


class Mailer:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    @property
    def configured(self) -> bool:
        return bool(self.settings.smtp_url)

    async def send(self, payload: dict[str, Any], key: str) -> None:
        if not self.settings.smtp_url:
            raise NotConfigured("no SMTP server configured (mail.smtp_url / ALERTBRIDGE_SMTP_URL): notice kept queued")
        u = urlsplit(self.settings.smtp_url)
        implicit_tls = u.scheme == "smtps"
        starttls = u.scheme == "smtp+starttls"
        port = u.port or (465 if implicit_tls else 587 if starttls else 25)
        msg = build(payload, key, self.settings)
        # flattened here, with alertbridge's policy: aiosmtplib's own folds long subjects at 78 columns
        await aiosmtplib.send(
            msg.as_bytes(policy=POLICY),
            sender=parseaddr(self.settings.sender)[1],
            recipients=[payload["to"]],
            hostname=u.hostname or "localhost",
            port=port,
            username=unquote(u.username) if u.username else None,
            password=unquote(u.password) if u.password else None,
            use_tls=implicit_tls,
            start_tls=starttls,
            timeout=self.settings.timeout,
        )
