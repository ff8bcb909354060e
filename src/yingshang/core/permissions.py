"""Roles and what they may do.  Checked first in every service; selectors scope reads.

Separation of duties (三权分立): the auditor reads the audit trail and nothing else; the security
administrator manages accounts and nothing else; business roles can do neither."""

from __future__ import annotations

from .errors import NotPermitted
from .models import Role, User

GOVERNMENT_ROLES = {Role.DISPATCHER, Role.HANDLER, Role.HEAD, Role.LEADER, Role.INSPECTOR}
BUSINESS_ROLES = GOVERNMENT_ROLES | {Role.ENTERPRISE}

CAPABILITIES: dict[str, set[str]] = {
    # the registry
    "enterprises.view_all": {Role.DISPATCHER, Role.LEADER, Role.HANDLER, Role.HEAD, Role.INSPECTOR},
    "enterprises.edit": {Role.DISPATCHER, Role.HANDLER, Role.HEAD},
    "enterprises.import": {Role.DISPATCHER},
    "enterprises.view_personal": {Role.DISPATCHER},
    "enterprises.edit_own": {Role.ENTERPRISE},
    # organisation
    "org.view": GOVERNMENT_ROLES | {Role.SECURITY},
    "org.edit": {Role.DISPATCHER},
    "calendar.edit": {Role.DISPATCHER},
    # appeals
    "appeals.submit_own": {Role.ENTERPRISE},
    "appeals.file": {Role.DISPATCHER},
    "appeals.dispatch": {Role.DISPATCHER},
    "appeals.handle": {Role.HANDLER, Role.HEAD},
    "appeals.approve_extension": {Role.HEAD, Role.DISPATCHER},
    "appeals.supervise": {Role.LEADER, Role.DISPATCHER},
    "appeals.view_all": {Role.DISPATCHER, Role.LEADER},
    "appeals.configure": {Role.DISPATCHER},
    # policies
    "policies.view": GOVERNMENT_ROLES,
    "policies.edit": {Role.DISPATCHER, Role.HEAD, Role.HANDLER},
    "policies.review": {Role.HEAD, Role.DISPATCHER},
    "policies.pay": {Role.DISPATCHER},
    "policies.apply_own": {Role.ENTERPRISE},
    # service items and cases
    "services.catalogue_edit": {Role.DISPATCHER},
    "services.handle": {Role.HANDLER, Role.HEAD},
    "services.approve_extension": {Role.HEAD},
    "services.view_all": {Role.DISPATCHER, Role.LEADER},
    "services.apply_own": {Role.ENTERPRISE},
    "services.decide_contest": {Role.DISPATCHER},
    # liaison
    "liaison.manage": {Role.DISPATCHER},
    # credit red and black lists (an enterprise sees its own entries through the selectors)
    "credit.view": GOVERNMENT_ROLES,
    "credit.manage": {Role.DISPATCHER, Role.INSPECTOR},
    # platform
    "audit.read": {Role.AUDITOR},
    "accounts.manage": {Role.SECURITY},
}


def can(user: User | None, capability: str) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.role in CAPABILITIES[capability]


def require(user: User | None, capability: str) -> None:
    if not can(user, capability):
        raise NotPermitted(
            "您没有执行此操作的权限",
            f"you are not allowed to do this ({capability})",
            code="forbidden",
        )
