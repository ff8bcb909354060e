"""Write operations of the core app.  Each is one transaction that checks permission first and
writes its audit record in the same transaction."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import secrets
from collections import defaultdict
from typing import IO

import filetype
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from . import workdays
from .audit import audit_record, snapshot
from .errors import Conflict, NotPermitted, ValidationFailed, from_django_validation
from .models import (
    ApiToken,
    Attachment,
    CalendarDay,
    CalendarYear,
    Department,
    Notification,
    OutboundSms,
    Role,
    User,
)
from .permissions import require

# ---------------------------------------------------------------- calendar


@transaction.atomic
def calendar_year_set_official(
    *, year: int, holidays: dict[dt.date, str], workdays_: dict[dt.date, str], actor: User | None, source: str
) -> CalendarYear:
    """Enter a year's official arrangement (State Council notice).  Replaces whatever the year had
    and recomputes every deadline that was computed on the provisional calendar."""
    if actor is not None:
        require(actor, "calendar.edit")
    workdays._check_year(year)
    for day in list(holidays) + list(workdays_):
        if day.year != year:
            raise ValidationFailed(f"日期 {day} 不属于 {year} 年", f"date {day} is not in {year}", field="date")
    both = set(holidays) & set(workdays_)
    if both:
        d = min(both)
        raise ValidationFailed(f"{d} 不能既放假又上班", f"{d} cannot be both a holiday and a working day", field="date")
    for day in workdays_:
        if day.weekday() < 5:
            raise ValidationFailed(
                f"调休上班日 {day} 不是周末", f"make-up working day {day} is not a Saturday or Sunday", field="date"
            )
    cy = CalendarYear.objects.select_for_update().filter(year=year).first()
    before = None
    if cy:
        before = {"status": cy.status, "source": cy.source, "days": cy.days.count()}
        cy.days.all().delete()
        cy.status, cy.source = CalendarYear.Status.OFFICIAL, source
        cy.save()
    else:
        cy = CalendarYear.objects.create(year=year, status=CalendarYear.Status.OFFICIAL, source=source)
    CalendarDay.objects.bulk_create(
        [CalendarDay(date=d, year=cy, kind=CalendarDay.Kind.HOLIDAY, name=n) for d, n in holidays.items()]
        + [CalendarDay(date=d, year=cy, kind=CalendarDay.Kind.WORKDAY, name=n) for d, n in workdays_.items()]
    )
    workdays.clear_cache()
    recomputed = workdays.recompute_provisional(year)
    audit_record(
        actor=actor, action="calendar.set_official", obj=cy, object_repr=f"{year} 年工作日历",
        before=before,
        after={"status": cy.status, "source": source, "holidays": sorted(str(d) for d in holidays),
               "workdays": sorted(str(d) for d in workdays_), "recomputed_deadlines": recomputed},
    )
    transaction.on_commit(workdays.clear_cache)
    return cy


KIND_WORDS = {"holiday": "holiday", "放假": "holiday", "休": "holiday", "workday": "workday", "上班": "workday", "班": "workday"}


def parse_calendar_file(data: bytes) -> dict[int, tuple[dict[dt.date, str], dict[dt.date, str]]]:
    """CSV with columns ``date,kind,name`` (kind: holiday/放假 or workday/上班).  Every bad line is
    reported; nothing is taken from a file with errors."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed("文件不是 UTF-8 编码的 CSV", "the file is not UTF-8 CSV", field="file") from None
    years: dict[int, tuple[dict[dt.date, str], dict[dt.date, str]]] = defaultdict(lambda: ({}, {}))
    errors = []
    for lineno, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not "".join(row).strip() or row[0].strip().lower() in {"date", "日期"}:
            continue
        try:
            day = dt.date.fromisoformat(row[0].strip())
        except ValueError:
            errors.append(f"第{lineno}行：日期 {row[0]!r} 无效 / line {lineno}: bad date")
            continue
        kind = KIND_WORDS.get(row[1].strip().lower() if len(row) > 1 else "")
        if kind is None:
            errors.append(f"第{lineno}行：类型应为 holiday/放假 或 workday/上班 / line {lineno}: bad kind")
            continue
        name = row[2].strip() if len(row) > 2 else ""
        years[day.year][0 if kind == "holiday" else 1][day] = name
    if errors:
        raise ValidationFailed("；".join(errors[:20]), f"{len(errors)} bad line(s) in the calendar file", field="file")
    if not years:
        raise ValidationFailed("文件中没有日期", "the file holds no dates", field="file")
    return dict(years)


def calendar_import(*, data: bytes, actor: User | None, source: str) -> list[CalendarYear]:
    parsed = parse_calendar_file(data)
    with transaction.atomic():
        return [
            calendar_year_set_official(year=y, holidays=h, workdays_=w, actor=actor, source=source)
            for y, (h, w) in sorted(parsed.items())
        ]


# ---------------------------------------------------------------- accounts


def _check_binding(role: str, department: Department | None, enterprise) -> None:  # type: ignore[no-untyped-def]
    if role == Role.ENTERPRISE and enterprise is None:
        raise ValidationFailed("企业用户必须绑定市场主体", "an enterprise user must be bound to an enterprise", field="enterprise")
    if role != Role.ENTERPRISE and enterprise is not None:
        raise ValidationFailed("只有企业用户可以绑定市场主体", "only enterprise users are bound to an enterprise", field="enterprise")
    if role in {Role.HANDLER, Role.HEAD, Role.INSPECTOR, Role.DISPATCHER} and department is None:
        raise ValidationFailed("该角色必须属于一个部门", "this role must belong to a department", field="department")


@transaction.atomic
def user_create(
    *, actor: User | None, username: str, password: str, role: str, full_name: str = "", phone: str = "",
    department: Department | None = None, enterprise=None, is_demo: bool = False,  # type: ignore[no-untyped-def]
) -> User:
    if actor is not None:
        require(actor, "accounts.manage")
    if role not in Role.values:
        raise ValidationFailed(f"未知角色 {role}", f"unknown role {role}", field="role")
    _check_binding(role, department, enterprise)
    if User.objects.filter(username=username).exists():
        raise Conflict("用户名已存在", "the user name is taken", field="username")
    user = User(username=username, role=role, full_name=full_name, phone=phone, department=department,
                enterprise=enterprise, is_demo=is_demo)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationFailed("；".join(exc.messages), "the password is too weak", field="password") from None
    user.set_password(password)
    try:
        user.full_clean()
    except ValidationError as exc:
        raise from_django_validation(exc) from None
    user.save()
    audit_record(actor=actor, action="user.create", obj=user,
                 after=snapshot(user, ["username", "role", "full_name", "department_id", "enterprise_id"]))
    return user


@transaction.atomic
def user_set_active(*, actor: User, user: User, active: bool) -> User:
    require(actor, "accounts.manage")
    if user.pk == actor.pk:
        raise NotPermitted("不能停用自己的账号", "you cannot disable your own account")
    before = {"is_active": user.is_active}
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit_record(actor=actor, action="user.set_active", obj=user, before=before, after={"is_active": active})
    return user


@transaction.atomic
def user_unlock(*, actor: User, user: User) -> User:
    require(actor, "accounts.manage")
    before = {"failed_logins": user.failed_logins, "locked_until": user.locked_until}
    user.failed_logins, user.locked_until = 0, None
    user.save(update_fields=["failed_logins", "locked_until"])
    audit_record(actor=actor, action="user.unlock", obj=user, before=before, after={"failed_logins": 0})
    return user


class LoginRefused(NotPermitted):
    status = 401
    code = "login_failed"


def login_attempt(*, username: str, password: str) -> User:
    """Check a password with account lockout.  Failures are counted per account; after
    ``LOGIN_MAX_FAILURES`` the account is locked for ``LOGIN_LOCK_MINUTES``."""
    now = timezone.now()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username).first()
        generic = LoginRefused("用户名或密码错误", "wrong user name or password")
        if user is None or not user.is_active:
            raise generic
        if user.locked_until and user.locked_until > now:
            minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
            raise LoginRefused(f"账号已锁定，请 {minutes} 分钟后再试或联系安全管理员",
                               f"account locked; try again in {minutes} min or ask the security administrator",
                               code="account_locked")
        if user.is_demo and not settings.DEMO_ACCOUNTS_ENABLED:
            raise LoginRefused("演示账号已停用", "demo accounts are disabled", code="demo_disabled")
        if not user.check_password(password):
            user.failed_logins += 1
            after: dict[str, object] = {"failed_logins": user.failed_logins}
            if user.failed_logins >= settings.LOGIN_MAX_FAILURES:
                user.locked_until = now + dt.timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
                user.failed_logins = 0
                after = {"locked_until": user.locked_until}
            user.save(update_fields=["failed_logins", "locked_until"])
            audit_record(actor=None, action="user.login_failed", obj=user, after=after)
            failed = True
        else:
            failed = False
            if user.failed_logins or user.locked_until:
                user.failed_logins, user.locked_until = 0, None
                user.save(update_fields=["failed_logins", "locked_until"])
            user.last_login = now
            user.save(update_fields=["last_login"])
            audit_record(actor=user, action="user.login", obj=user)
    if failed:  # raised after commit so that the failure count is kept
        raise generic
    return user


@transaction.atomic
def api_token_create(*, actor: User, user: User, name: str) -> tuple[ApiToken, str]:
    if actor.pk != user.pk:
        require(actor, "accounts.manage")
    raw = "ys_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, digest=hashlib.sha256(raw.encode()).hexdigest(), prefix=raw[:8])
    audit_record(actor=actor, action="api_token.create", obj=token, object_repr=f"{user.username}:{name}",
                 after={"user": user.username, "name": name, "prefix": token.prefix})
    return token, raw


# ---------------------------------------------------------------- notifications


def notify(*, recipients: list[User], title: str, body: str = "", url: str = "",
           channels: tuple[str, ...] = ()) -> list[Notification]:
    """Put a message in each recipient's inbox; other channels (email, sms, webhook) are
    delivered by a background task after the transaction commits."""
    rows = Notification.objects.bulk_create(
        [Notification(recipient=u, title=title, body=body, url=url, channels=list(channels)) for u in recipients]
    )
    if channels:
        from .tasks import deliver_notification

        ids = [n.pk for n in rows if n.pk is not None] or list(
            Notification.objects.filter(recipient__in=recipients, title=title).values_list("pk", flat=True)
        )
        for pk in ids:
            transaction.on_commit(lambda pk=pk: deliver_notification.enqueue(notification_id=pk))
    return rows


def sms_send(*, key: str, phone: str, text: str) -> OutboundSms | None:
    """Queue a text message to a phone number without an account, once per ``key``; it is sent by
    a background task after the caller's transaction commits.  None when there is no phone."""
    phone = (phone or "").strip()
    if not phone:
        return None
    sms, created = OutboundSms.objects.get_or_create(key=key[:100], defaults={"phone": phone[:20], "text": text[:500]})
    if created:
        from .tasks import deliver_sms

        transaction.on_commit(lambda: deliver_sms.enqueue(sms_id=sms.pk))
    return sms


@transaction.atomic
def notification_mark_read(*, actor: User, notification_id: int) -> Notification:
    n = Notification.objects.filter(pk=notification_id, recipient=actor).first()
    if n is None:
        from .errors import NotFound

        raise NotFound("消息不存在", "no such message", field="notification_id")
    if n.read_at is None:
        n.read_at = timezone.now()
        n.save(update_fields=["read_at"])
    return n


# ---------------------------------------------------------------- attachments

TEXT_KINDS = {"txt": "text/plain", "csv": "text/csv"}


def sniff(head: bytes, name: str) -> tuple[str, str] | None:
    """(kind, MIME) from the content, not the name; plain text only when it decodes as UTF-8."""
    guess = filetype.guess(head)
    if guess is not None:
        return guess.extension, guess.mime
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext in TEXT_KINDS:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError:
            try:
                head[:-3].decode("utf-8")
            except UnicodeDecodeError:
                return None
        return ext, TEXT_KINDS[ext]
    return None


@transaction.atomic
def attachment_store(*, upload: UploadedFile | IO[bytes], name: str, actor: User | None) -> Attachment:
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, 2)
        size = upload.tell()
        upload.seek(0)
    if size > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationFailed(
            f"附件超过 {settings.ATTACHMENT_MAX_BYTES // 1048576} MB 上限",
            f"the attachment exceeds the {settings.ATTACHMENT_MAX_BYTES // 1048576} MB limit", field="file",
        )
    if size == 0:
        raise ValidationFailed("附件为空", "the attachment is empty", field="file")
    head = upload.read(8192)
    upload.seek(0)
    found = sniff(head, name)
    if found is None or found[0] not in settings.ATTACHMENT_ALLOWED_TYPES:
        allowed = "、".join(settings.ATTACHMENT_ALLOWED_TYPES)
        raise ValidationFailed(f"不支持的文件类型（允许：{allowed}）", f"file type not allowed (allowed: {allowed})",
                               field="file")
    digest = hashlib.sha256()
    for chunk in iter(lambda: upload.read(65536), b""):
        digest.update(chunk)
    upload.seek(0)
    from django.core.files import File

    att = Attachment(original_name=name[:255], kind=found[0], content_type=found[1], size=size,
                     sha256=digest.hexdigest(), uploaded_by=actor)
    att.file.save(f"{digest.hexdigest()[:16]}.{found[0]}", File(upload), save=False)
    att.save()
    audit_record(actor=actor, action="attachment.store", obj=att, object_repr=att.original_name,
                 after={"name": att.original_name, "size": size, "sha256": att.sha256, "kind": att.kind})
    return att


# ---------------------------------------------------------------- organisation import

LEVEL_ORDER = ["province", "prefecture", "county", "township", "village"]


def _region_parent_code(code12: str, level: str) -> str | None:
    if level == "province":
        return None
    if level == "prefecture":
        return code12[:2] + "0" * 10
    if level == "county":
        return code12[:4] + "0" * 8
    if level == "township":
        return code12[:6] + "0" * 6
    return code12[:9] + "000"


@transaction.atomic
def region_import(*, actor: User | None, rows: list[dict[str, str]]) -> dict[str, int]:
    """Upsert regions by code.  Codes are checked against the GB/T 2260 list (6-digit) and the
    12-digit statistical extension; parents must exist or come in the same list.  All rows are
    checked first: one bad row refuses the whole list, with every error reported."""
    from . import gbt2260
    from .models import Region

    if actor is not None:
        require(actor, "org.edit")
    errors: list[str] = []
    clean: list[tuple[str, str, str]] = []
    for i, row in enumerate(rows, start=1):
        raw = str(row.get("code", "")).strip()
        name = str(row.get("name", "")).strip()
        try:
            level = gbt2260.validate_code(raw)
        except ValueError as exc:
            errors.append(f"第{i}行 / row {i}: {exc}")
            continue
        if not name or len(name) > 100:
            errors.append(f"第{i}行：名称不能为空且不超过100字 / row {i}: name required (≤ 100 characters)")
            continue
        clean.append((raw.ljust(12, "0"), name, level))
    known = set(Region.objects.values_list("code", flat=True)) | {c for c, _, _ in clean}
    for code, _, level in clean:
        parent = _region_parent_code(code, level)
        if parent and parent not in known and level in {"township", "village", "county"}:
            errors.append(f"{code}：上级区划 {parent} 不存在 / parent {parent} missing")
    if errors:
        raise ValidationFailed("；".join(errors[:20]), f"{len(errors)} bad row(s); nothing imported", field="rows")
    created = updated = 0
    existing = {r.code: r for r in Region.objects.all()}
    for code, name, level in sorted(clean, key=lambda c: LEVEL_ORDER.index(c[2])):
        parent_code = _region_parent_code(code, level)
        parent = existing.get(parent_code) if parent_code else None
        r = existing.get(code)
        if r is None:
            r = Region.objects.create(code=code, name=name, level=level, parent=parent)
            existing[code] = r
            created += 1
            audit_record(actor=actor, action="region.create", obj=r, after={"code": code, "name": name, "level": level})
        elif (r.name, r.level, r.parent_id) != (name, level, parent.pk if parent else None):
            before = {"name": r.name, "level": r.level, "parent_id": r.parent_id}
            r.name, r.level, r.parent = name, level, parent
            r.save()
            updated += 1
            audit_record(actor=actor, action="region.update", obj=r, before=before,
                         after={"name": name, "level": level, "parent_id": r.parent_id})
    return {"rows": len(rows), "created": created, "updated": updated, "unchanged": len(clean) - created - updated}


@transaction.atomic
def department_import(*, actor: User | None, rows: list[dict[str, object]]) -> dict[str, int]:
    """Upsert departments by code (code, name, short_name, region_code, parent_code, is_office).
    One bad row refuses the whole list."""
    from .models import Region

    if actor is not None:
        require(actor, "org.edit")
    regions = {r.code: r for r in Region.objects.all()}
    existing = {d.code: d for d in Department.objects.all()}
    codes_in_file = {str(r.get("code", "")).strip() for r in rows}
    errors: list[str] = []
    for i, row in enumerate(rows, start=1):
        code = str(row.get("code", "")).strip()
        if not code or len(code) > 32:
            errors.append(f"第{i}行：部门代码不能为空 / row {i}: code required")
        if not str(row.get("name", "")).strip():
            errors.append(f"第{i}行：部门名称不能为空 / row {i}: name required")
        rc = str(row.get("region_code", "")).strip().ljust(12, "0")
        if rc not in regions:
            errors.append(f"第{i}行：区划 {rc} 不存在 / row {i}: unknown region {rc}")
        pc = str(row.get("parent_code") or "").strip()
        if pc and pc not in existing and pc not in codes_in_file:
            errors.append(f"第{i}行：上级部门 {pc} 不存在 / row {i}: unknown parent department {pc}")
        if pc and pc == code:
            errors.append(f"第{i}行：部门不能是自己的上级 / row {i}: a department cannot be its own parent")
    if errors:
        raise ValidationFailed("；".join(errors[:20]), f"{len(errors)} bad row(s); nothing imported", field="rows")
    created = updated = 0
    for row in rows:
        code = str(row["code"]).strip()
        values = {
            "name": str(row["name"]).strip(), "short_name": str(row.get("short_name") or "").strip()[:20],
            "region": regions[str(row["region_code"]).strip().ljust(12, "0")],
            "is_office": str(row.get("is_office", "")).strip().lower() in {"1", "true", "是", "yes"},
        }
        d = existing.get(code)
        if d is None:
            d = Department.objects.create(code=code, **values)
            existing[code] = d
            created += 1
            audit_record(actor=actor, action="department.create", obj=d, after=snapshot(d))
        else:
            before = snapshot(d)
            for k, v in values.items():
                setattr(d, k, v)
            if snapshot(d) != before:
                d.save()
                updated += 1
                audit_record(actor=actor, action="department.update", obj=d, before=before, after=snapshot(d))
    for row in rows:  # parents last, so that a list may name parents in any order
        pc = str(row.get("parent_code") or "").strip()
        d = existing[str(row["code"]).strip()]
        parent = existing.get(pc) if pc else None
        if d.parent_id != (parent.pk if parent else None):
            d.parent = parent
            d.save(update_fields=["parent"])
            audit_record(actor=actor, action="department.set_parent", obj=d, after={"parent": pc or None})
    return {"rows": len(rows), "created": created, "updated": updated, "unchanged": len(rows) - created - updated}
