"""Pages of the core app: thin over services and selectors."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import selectors, services
from .audit import audit_verify
from .errors import DomainError, NotPermitted
from .models import Department, Role, User
from .permissions import can, require


def domain_errors(view):  # type: ignore[no-untyped-def]
    """Render a domain error as a page with the right status (403/404/400)."""

    def wrapper(request: HttpRequest, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return view(request, *args, **kwargs)
        except DomainError as exc:
            return render(request, "core/error.html", {"error": exc}, status=exc.status)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def healthz(request: HttpRequest) -> JsonResponse:
    User.objects.exists()
    return JsonResponse({"status": "ok"})


def login_view(request: HttpRequest) -> HttpResponse:
    error = None
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST":
        try:
            user = services.login_attempt(username=request.POST.get("username", "").strip(),
                                          password=request.POST.get("password", ""))
        except DomainError as exc:
            error = exc
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
                return redirect(next_url)
            return redirect("core:home")
    from django.conf import settings

    demo = []
    if settings.DEMO_ACCOUNTS_ENABLED:
        demo = list(User.objects.filter(is_demo=True, is_active=True).order_by("role", "username")
                    .values_list("username", "role", "full_name")[:12])
    return render(request, "core/login.html", {"error": error, "next": next_url, "demo_accounts": demo,
                                               "roles": dict(Role.choices), "demo_password": settings.DEMO_PASSWORD},
                  status=401 if error else 200)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("core:login")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    ctx: dict[str, object] = {"role_label": user.get_role_display()}
    from yingshang.enterprises.models import Enterprise, ImportJob

    if user.role in {Role.DISPATCHER, Role.LEADER}:
        by_size = dict(Enterprise.objects.values_list("size_class").annotate(n=Count("pk")))
        ctx["stats"] = {
            "total": Enterprise.objects.count(),
            "above": Enterprise.objects.filter(above_designated=True).count(),
            "individual": Enterprise.objects.filter(kind=Enterprise.Kind.INDIVIDUAL).count(),
            "by_size": [(s, by_size.get(s, 0)) for s in ["大型", "中型", "小型", "微型"]] + [(_("无年度数据"), by_size.get("", 0))],
        }
        ctx["by_township"] = list(
            Enterprise.objects.values("region__name").annotate(n=Count("pk")).order_by("-n")[:20]
        )
    if user.role == Role.DISPATCHER:
        ctx["recent_imports"] = ImportJob.objects.order_by("-started_at")[:5]
        ctx["provisional_years"] = selectors.calendar_years().filter(status="provisional")
    if user.role in {Role.HANDLER, Role.HEAD, Role.INSPECTOR} and user.department_id:
        ctx["department"] = user.department
        ctx["colleagues"] = User.objects.filter(department_id=user.department_id).count()
    if user.role == Role.ENTERPRISE and user.enterprise_id:
        from yingshang.enterprises.selectors import enterprise_get, present

        ent = enterprise_get(actor=user, pk=user.enterprise_id)
        ctx["enterprise"] = present(ent, user)
        ctx["enterprise_obj"] = ent
    if user.role == Role.AUDITOR:
        ctx["recent_audit"] = selectors.audit_list(actor=user)[:10]
    if user.role == Role.SECURITY:
        ctx["locked"] = User.objects.filter(locked_until__gt=timezone.now())
        ctx["users_by_role"] = User.objects.values("role").annotate(n=Count("pk")).order_by("role")
    ctx["inbox"] = selectors.notifications_for(actor=user)[:5]
    ctx["todos"] = selectors.todos_for(user)
    return render(request, f"core/home_{user.role}.html", ctx)


@login_required
@domain_errors
def departments(request: HttpRequest) -> HttpResponse:
    return render(request, "core/departments.html", {"departments": selectors.department_list(actor=request.user)})


@login_required
@domain_errors
def department_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dept = selectors.department_get(actor=request.user, pk=pk)
    members = selectors.department_members(actor=request.user, department=dept)
    return render(request, "core/department.html", {"dept": dept, "members": members})


@login_required
@domain_errors
def calendar_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not (can(user, "calendar.edit") or user.role in {Role.HEAD, Role.LEADER}):
        raise NotPermitted("您无权查看工作日历管理", "you may not open the calendar administration")
    if request.method == "POST":
        require(user, "calendar.edit")
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "请选择文件 / choose a file")
        else:
            try:
                years = services.calendar_import(data=upload.read(), actor=user, source=f"导入 {upload.name}")
            except DomainError as exc:
                messages.error(request, f"{exc.message} / {exc.message_en}")
            else:
                messages.success(request, "已录入官方安排：" + "、".join(str(y.year) for y in years))
        return redirect("core:calendar")
    try:
        year = int(request.GET.get("year", timezone.localdate().year + 1))
    except ValueError:
        year = timezone.localdate().year
    cy, days = selectors.calendar_year_detail(year)
    today = timezone.localdate()
    from . import workdays

    samples = [(n, workdays.add(today, n)) for n in (1, 5, 10, 20)]
    return render(request, "core/calendar.html", {
        "years": selectors.calendar_years(), "cy": cy, "days": days, "year": year, "today": today,
        "samples": samples, "can_edit": can(user, "calendar.edit"),
    })


@login_required
@domain_errors
def audit_view(request: HttpRequest) -> HttpResponse:
    qs = selectors.audit_list(actor=request.user, q=request.GET.get("q", ""), action=request.GET.get("action", ""))
    verify = audit_verify() if request.GET.get("verify") else None
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "core/audit.html", {"page": page, "verify": verify, "q": request.GET.get("q", "")})


@login_required
@domain_errors
def users_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    require(user, "accounts.manage")
    if request.method == "POST":
        dept = Department.objects.filter(pk=request.POST.get("department") or 0).first()
        from yingshang.enterprises.models import Enterprise

        ent = Enterprise.objects.filter(uscc=request.POST.get("enterprise", "").strip().upper()).first()
        try:
            services.user_create(actor=user, username=request.POST.get("username", "").strip(),
                                 password=request.POST.get("password", ""), role=request.POST.get("role", ""),
                                 full_name=request.POST.get("full_name", "").strip(), department=dept, enterprise=ent)
        except DomainError as exc:
            messages.error(request, f"{exc.message} / {exc.message_en}")
        else:
            messages.success(request, "账号已创建 / account created")
        return redirect("core:users")
    qs = selectors.user_list(actor=user, q=request.GET.get("q", ""))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "core/users.html", {"page": page, "roles": Role.choices,
                                               "departments": Department.objects.order_by("code"),
                                               "now": timezone.now()})


@login_required
@require_POST
@domain_errors
def user_unlock_view(request: HttpRequest, pk: int) -> HttpResponse:
    target = User.objects.filter(pk=pk).first()
    require(request.user, "accounts.manage")  # type: ignore[arg-type]
    if target:
        services.user_unlock(actor=request.user, user=target)  # type: ignore[arg-type]
        messages.success(request, f"{target.username} 已解锁")
    return redirect("core:users")


@login_required
@require_POST
@domain_errors
def user_active_view(request: HttpRequest, pk: int) -> HttpResponse:
    target = User.objects.filter(pk=pk).first()
    require(request.user, "accounts.manage")  # type: ignore[arg-type]
    if target:
        services.user_set_active(actor=request.user, user=target, active=request.POST.get("active") == "1")  # type: ignore[arg-type]
    return redirect("core:users")


@login_required
@require_POST
@domain_errors
def user_token_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Issue an API token for a (system) account; the raw token is shown once and never stored."""
    require(request.user, "accounts.manage")  # type: ignore[arg-type]
    target = User.objects.filter(pk=pk).first()
    if target is None:
        from .errors import NotFound

        raise NotFound("账号不存在", "no such account")
    name = request.POST.get("name", "").strip() or "api"
    token, raw = services.api_token_create(actor=request.user, user=target, name=name)  # type: ignore[arg-type]
    return render(request, "core/token.html", {"target": target, "token": token, "raw": raw})


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.notifications_for(actor=request.user), 30).get_page(request.GET.get("page"))
    return render(request, "core/inbox.html", {"page": page})


@login_required
@require_POST
@domain_errors
def inbox_read(request: HttpRequest, pk: int) -> HttpResponse:
    n = services.notification_mark_read(actor=request.user, notification_id=pk)  # type: ignore[arg-type]
    return redirect(n.url or "core:inbox")


