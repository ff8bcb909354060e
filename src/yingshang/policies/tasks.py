"""Background tasks of the policy module: each loads by id and calls one function; all are idempotent
(a re-run finds nothing left to change).  Schedule ``match_all_task``, ``expire_documents_task`` and
``policies_sweep_task`` daily (cron / systemd timer: ``yingshang policies match`` / ``expire`` /
``sweep`` do the same)."""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task()
def match_all_task() -> dict[str, Any]:
    from . import matching

    return matching.match_all().as_dict()


@task()
def match_items_task(item_ids: list[int]) -> dict[str, Any]:
    """An item's rule changed or it was published: re-match it over the registry."""
    from . import matching
    from .models import BenefitItem

    return matching.match_all(items=list(BenefitItem.objects.filter(pk__in=item_ids))).as_dict()


@task()
def rematch_enterprises_task(enterprise_ids: list[int]) -> dict[str, Any]:
    """Enterprises' data changed (import, edit, figures, credit lists): re-match them."""
    from . import matching

    return matching.rematch_enterprises(enterprise_ids).as_dict()


@task()
def expire_documents_task() -> int:
    from . import services

    return services.documents_expire_due()


@task()
def policies_sweep_task() -> dict[str, int]:
    from . import services

    return services.policies_sweep()
