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
