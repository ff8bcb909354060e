"""Background tasks: load by id, call one function, idempotent."""

from __future__ import annotations

from django.db import transaction
from django_tasks import task

from .channels import get_channel
from .models import Notification


@task()
def deliver_notification(notification_id: int) -> dict[str, str]:
    with transaction.atomic():
        n = Notification.objects.select_for_update().select_related("recipient").filter(pk=notification_id).first()
        if n is None:
            return {}
        delivered = dict(n.delivered)
        for name in n.channels:
            if name in delivered and not delivered[name].startswith("error"):
                continue  # already delivered: a retried task does not send twice
            try:
                delivered[name] = get_channel(name).send(n)
            except Exception as exc:  # noqa: BLE001 - a failing gateway must not lose the others
                delivered[name] = f"error: {exc}"[:200]
        n.delivered = delivered
        n.save(update_fields=["delivered"])
        return delivered


@task()
def deliver_sms(sms_id: int) -> str:
    """Send one queued text message; a retried task does not send it twice."""
    from django.conf import settings
    from django.utils import timezone
    from django.utils.module_loading import import_string

    from .models import OutboundSms

    with transaction.atomic():
        sms = OutboundSms.objects.select_for_update().filter(pk=sms_id).first()
        if sms is None or (sms.sent_at is not None):
            return sms.result if sms else ""
        try:
            sms.result = str(import_string(settings.NOTIFY_SMS_BACKEND)().send_text(sms.phone, sms.text))[:200]
            sms.sent_at = timezone.now()
        except Exception as exc:  # noqa: BLE001 - keep the row for a retry
            sms.result = f"error: {exc}"[:200]
        sms.save(update_fields=["result", "sent_at"])
        return sms.result
