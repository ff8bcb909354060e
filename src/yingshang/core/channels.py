"""Notification channels behind one interface.  Email goes through Django's mail; SMS gateways
and group-chat webhooks are pluggable classes named in settings, with logging backends for
development and HTTP backends for a real gateway."""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

from .models import Notification

log = logging.getLogger("yingshang.notify")


class Channel(Protocol):
    name: str

    def send(self, notification: Notification) -> str: ...


class EmailChannel:
    name = "email"

    def send(self, notification: Notification) -> str:
        to = notification.recipient.email
        if not to:
            return "skipped: no email address"
        send_mail(notification.title, notification.body + ("\n" + notification.url if notification.url else ""),
                  settings.DEFAULT_FROM_EMAIL, [to])
        return "sent"


class LoggingSmsGateway:
    name = "sms"

    def send(self, notification: Notification) -> str:
        log.info("SMS to %s: %s", notification.recipient.phone or "-", notification.title)
        return "logged"

    def send_text(self, phone: str, text: str) -> str:
        log.info("SMS to %s: %s", phone, text)
        return "logged"


class HttpSmsGateway:
    """POSTs JSON ``{"phone", "text"}`` to ``YINGSHANG_SMS_URL``."""

    name = "sms"

    def send(self, notification: Notification) -> str:
        if not notification.recipient.phone:
            return "skipped: no phone"
        return self.send_text(notification.recipient.phone, notification.title)

    def send_text(self, phone: str, text: str) -> str:
        body = json.dumps({"phone": phone, "text": text}).encode()
        req = urllib.request.Request(settings.NOTIFY_SMS_URL, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - configured URL
            return f"http {resp.status}"


class LoggingWebhook:
    name = "webhook"

    def send(self, notification: Notification) -> str:
        log.info("webhook: %s — %s", notification.title, notification.body[:80])
        return "logged"


class HttpWebhook:
    """Group-chat robot webhook (WeCom/DingTalk style text message)."""

    name = "webhook"

    def send(self, notification: Notification) -> str:
        body = json.dumps({"msgtype": "text", "text": {"content": f"{notification.title}\n{notification.body}"}}).encode()
        req = urllib.request.Request(settings.NOTIFY_WEBHOOK_URL, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - configured URL
            return f"http {resp.status}"


def get_channel(name: str) -> Channel:
    if name == "email":
        return EmailChannel()
    if name == "sms":
        return import_string(settings.NOTIFY_SMS_BACKEND)()
    if name == "webhook":
        return import_string(settings.NOTIFY_WEBHOOK_BACKEND)()
    raise ValueError(f"unknown channel {name}")
