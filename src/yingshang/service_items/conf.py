"""Local rules of this module, read from settings with their defaults (REFERENCE.md: a rule set
locally is a setting, never a constant in code).  The integrator may add them to settings.py."""

from __future__ import annotations

from django.conf import settings


def warn_days() -> int:
    """SERVICE_WARN_DAYS (default 2): working days left at which an open case turns yellow."""
    return int(getattr(settings, "SERVICE_WARN_DAYS", 2))


def rectify_days() -> int:
    """SERVICE_RECTIFY_DAYS (default 5): working days to verify, rectify and answer a bad rating."""
    return int(getattr(settings, "SERVICE_RECTIFY_DAYS", 5))
