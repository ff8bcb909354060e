"""包联: a county leader (包联领导) and a service commissioner (服务专员) paired with an enterprise.

Appeals of a paired enterprise default to that leader and commissioner when dispatched (1+1+N)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Pairing(models.Model):
    enterprise = models.ForeignKey("enterprises.Enterprise", on_delete=models.PROTECT, related_name="pairings")
    leader = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("包联领导"))
    commissioner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("服务专员"))
    started_on = models.DateField(_("开始日期"))
    ended_on = models.DateField(_("结束日期"), null=True, blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["enterprise"], condition=Q(ended_on__isnull=True),
                                    name="pairing_one_current_per_enterprise"),
            models.CheckConstraint(name="pairing_names_someone",
                                   condition=Q(leader__isnull=False) | Q(commissioner__isnull=False)),
        ]
