"""E-mail over SMTP with STARTTLS (refused without it unless VETOFLOW_SMTP_STARTTLS=false)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path

from vetoflow.config import Settings


class DeliveryError(Exception):
    """A failed try; `retry` says whether another try may succeed."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


def send_email(settings: Settings, to: list[str], subject: str, body: str, notification_id: str) -> None:
    if not settings.smtp_host:
        raise DeliveryError("VETOFLOW_SMTP_HOST is not set", retry=False)
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Message-ID"] = f"<{notification_id}@vetoflow>"  # the idempotency id, stable across retries
    message["X-Vetoflow-Id"] = notification_id
    message.set_content(body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=tls_context(settings.smtp_ca_file))
                smtp.ehlo()
            elif settings.smtp_starttls:
                raise DeliveryError(
                    f"{settings.smtp_host} does not offer STARTTLS; refusing to send in clear", retry=False
                )
            if settings.smtp_user and settings.smtp_password:
                smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
            smtp.send_message(message)
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"SMTP {exc.smtp_code}", retry=exc.smtp_code >= 400 and exc.smtp_code < 500) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}", retry=True) from None
