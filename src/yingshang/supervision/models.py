"""信用红黑名单: an enterprise on the credit red list (守信激励) or black list (失信惩戒).

An entry is *active* on a day when it was listed on or before that day, has not been removed, and has
not expired (``expires_on`` is the first day it no longer applies; empty: until removed).  Entries are
never deleted: credit repair (信用修复) and expiry set ``removed_at`` with the reason, so the history
of who was listed when stays.  Other modules ask :mod:`.selectors` (``active_ids``, ``is_black_listed``)
and the policy rule engine reads the facts ``credit.black_list`` / ``credit.red_list``."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CreditListEntry(models.Model):
    class Kind(models.TextChoices):
        RED = "red", _("红名单")
        BLACK = "black", _("黑名单")

    class Removal(models.TextChoices):
        REPAIR = "repair", _("信用修复")  # a black-list entry lifted after the enterprise repaired its credit
        REVOKED = "revoked", _("撤销认定")  # a red-list entry withdrawn
        EXPIRED = "expired", _("到期")

    enterprise = models.ForeignKey("enterprises.Enterprise", on_delete=models.PROTECT,
                                   related_name="credit_entries", verbose_name=_("市场主体"))
    kind = models.CharField(_("名单类型"), max_length=8, choices=Kind.choices)
    reason = models.CharField(_("认定原因"), max_length=100)
    source = models.CharField(_("认定部门"), max_length=100)
    document_number = models.CharField(_("认定文书号"), max_length=100, blank=True)
    listed_on = models.DateField(_("认定日期"))
    expires_on = models.DateField(_("有效期至"), null=True, blank=True,
                                  help_text=_("自该日起不再有效；为空表示直至移出"))
    removed_at = models.DateTimeField(_("移出时间"), null=True, blank=True)
    removed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("移出人"))
    removal = models.CharField(_("移出方式"), max_length=8, choices=Removal.choices, blank=True)
    removal_reason = models.CharField(_("移出理由"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("录入人"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-listed_on", "-id"]
        verbose_name = _("信用红黑名单")
        verbose_name_plural = _("信用红黑名单")
        constraints = [
            models.CheckConstraint(name="credit_expires_after_listed",
                                   condition=Q(expires_on__isnull=True) | Q(expires_on__gt=models.F("listed_on"))),
            models.CheckConstraint(name="credit_removed_has_reason",
                                   condition=Q(removed_at__isnull=True, removal="")
                                   | (Q(removed_at__isnull=False) & ~Q(removal=""))),
            # one live entry per enterprise, list and reason (a second listing for the same reason
            # waits until the first is removed or has expired)
            models.UniqueConstraint(fields=["enterprise", "kind", "reason"], condition=Q(removed_at__isnull=True),
                                    name="credit_one_live_entry_per_reason"),
        ]
        indexes = [
            # "the active black (or red) entries of these enterprises": live rows only, by list
            models.Index(fields=["kind", "enterprise"], condition=Q(removed_at__isnull=True),
                         name="credit_live_kind_ent"),
            # the expiry sweep: live rows with an end date
            models.Index(fields=["expires_on"], condition=Q(removed_at__isnull=True, expires_on__isnull=False),
                         name="credit_live_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.reason}（{self.enterprise_id}）"

    def is_active(self, day: dt.date) -> bool:
        return (self.removed_at is None and self.listed_on <= day
                and (self.expires_on is None or day < self.expires_on))

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None


def active_q(day: dt.date, prefix: str = "") -> Q:
    """Entries active on ``day`` (``prefix`` for a relation, e.g. ``"credit_entries__"``)."""
    return Q(**{f"{prefix}removed_at__isnull": True, f"{prefix}listed_on__lte": day}) & (
        Q(**{f"{prefix}expires_on__isnull": True}) | Q(**{f"{prefix}expires_on__gt": day}))
