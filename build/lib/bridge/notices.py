"""Curator notices: the e-mail a customer's curator gets when a service is hit and when it is back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from classifier.inventory import Curator

TEXTS = {
    "en": {
        "affected_subject": "[{customer}] Service affected: {service} ({ticket})",
        "restored_subject": "[{customer}] Service restored: {service} ({ticket})",
        "affected_again_subject": "[{customer}] Service affected again: {service} ({ticket})",
        "greeting": "Dear {name},",
        "affected_intro": 'Our monitoring has detected a problem that affects your service "{service}". '
        "Our engineers are already working on it; there is no need to report it.",
        "affected_again_intro": 'The problem with your service "{service}" that we reported as resolved has come '
        "back. Our engineers are working on it.",
        "restored_intro": 'Your service "{service}" has been restored.',
        "what": "Problem",
        "since": "Detected",
        "until": "Restored",
        "duration": "Duration",
        "priority": "Priority",
        "ticket": "Ticket",
        "host": "Affected system",
        "affected_outro": "We will write to you again when the service is restored.",
        "restored_outro": "We continue to watch it. If you still see a problem, reply to this message "
        "quoting the ticket number.",
        "signature": "{msp}",
        "auto": "This message was sent automatically by the monitoring of {msp}.",
        "no_service": "your IT services",
    },
    "ru": {
        "affected_subject": "[{customer}] Нарушена работа сервиса: {service} ({ticket})",
        "restored_subject": "[{customer}] Работа сервиса восстановлена: {service} ({ticket})",
        "affected_again_subject": "[{customer}] Снова нарушена работа сервиса: {service} ({ticket})",
        "greeting": "Здравствуйте, {name}!",
        "affected_intro": "Наш мониторинг обнаружил проблему, которая затрагивает ваш сервис «{service}». "
        "Инженеры уже занимаются ею, сообщать о ней не нужно.",
        "affected_again_intro": "Проблема с сервисом «{service}», о решении которой мы сообщали, возникла снова. "
        "Инженеры уже занимаются ею.",
        "restored_intro": "Работа сервиса «{service}» восстановлена.",
        "what": "Проблема",
        "since": "Обнаружена",
        "until": "Восстановлен",
        "duration": "Длительность",
        "priority": "Приоритет",
        "ticket": "Заявка",
        "host": "Затронутая система",
        "affected_outro": "Мы напишем вам ещё раз, когда работа сервиса будет восстановлена.",
        "restored_outro": "Мы продолжаем наблюдение. Если проблема сохраняется, ответьте на это письмо, "
        "указав номер заявки.",
        "signature": "{msp}",
        "auto": "Это письмо отправлено автоматически системой мониторинга {msp}.",
        "no_service": "ваши ИТ-сервисы",
    },
}
PRIORITY = {"ru": {"critical": "критический", "high": "высокий", "medium": "средний", "low": "низкий"}}


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    customer_name: str
    service_name: str | None
    title: str
    host: str
    priority: str
    ticket: str
    opened_at: datetime
    resolved_at: datetime | None = None


def _duration(start: datetime, end: datetime) -> str:
    secs = max(0, int((end - start).total_seconds()))
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h {m:02d}m" if h else (f"{m}m {s:02d}s" if m else f"{s}s")


def render(kind: str, curator: Curator, facts: IncidentFacts, msp: str) -> tuple[str, str]:
    """(subject, body) of a notice; kind is affected, affected_again or restored."""
    t = TEXTS.get(curator.language, TEXTS["en"])
    service = facts.service_name or t["no_service"]
    fmt = {
        "customer": facts.customer_name,
        "service": service,
        "ticket": facts.ticket,
        "name": curator.name,
        "msp": msp,
    }
    subject = t[f"{kind}_subject"].format(**fmt)
    prio = PRIORITY.get(curator.language, {}).get(facts.priority, facts.priority)
    rows = [(t["what"], facts.title)]
    if facts.host:
        rows.append((t["host"], facts.host))
    rows.append((t["since"], facts.opened_at.strftime("%Y-%m-%d %H:%M UTC")))
    if kind == "restored" and facts.resolved_at is not None:
        rows.append((t["until"], facts.resolved_at.strftime("%Y-%m-%d %H:%M UTC")))
        rows.append((t["duration"], _duration(facts.opened_at, facts.resolved_at)))
    else:
        rows.append((t["priority"], prio))
    rows.append((t["ticket"], facts.ticket))
    width = max(len(k) for k, _ in rows) + 1
    table = "\n".join(f"{(k + ':').ljust(width)} {v}" for k, v in rows)
    intro = t[f"{kind}_intro"].format(**fmt)
    outro = t["restored_outro" if kind == "restored" else "affected_outro"]
    body = (
        "\n\n".join(
            [
                t["greeting"].format(**fmt),
                intro,
                table,
                outro,
                "-- \n" + t["signature"].format(**fmt) + "\n" + t["auto"].format(**fmt),
            ]
        )
        + "\n"
    )
    return subject, body
