"""The JSON API under /api/v1/ with its OpenAPI document at /api/v1/openapi.json.

Authentication: a bearer token (system-to-system; ``Authorization: Bearer ys_…``) or the browser
session (with CSRF).  Errors are always ``{"code", "message", "message_en", "field"}``.
"""

from __future__ import annotations

import hashlib

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth

from yingshang.core.errors import DomainError
from yingshang.core.models import ApiToken


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):  # type: ignore[no-untyped-def]
        digest = hashlib.sha256(token.encode()).hexdigest()
        tok = ApiToken.objects.select_related("user").filter(digest=digest, revoked_at__isnull=True).first()
        if tok is None or not tok.user.is_active:
            return None
        request.user = tok.user
        return tok.user


class ActiveSessionAuth(SessionAuth):
    def authenticate(self, request: HttpRequest, key):  # type: ignore[no-untyped-def]
        user = super().authenticate(request, key)
        return user if user and user.is_active else None


api = NinjaAPI(
    title="营商通 Yingshang API",
    version="1",
    description="营商环境服务平台接口 / business-environment platform API",
    auth=[TokenAuth(), ActiveSessionAuth()],
    urls_namespace="api",
)


def _error(request: HttpRequest, status: int, code: str, message: str, message_en: str, field: str | None) -> HttpResponse:
    return api.create_response(
        request, {"code": code, "message": message, "message_en": message_en, "field": field}, status=status
    )


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _error(request, exc.status, exc.code, exc.message, exc.message_en, exc.field)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    loc = [str(p) for p in first.get("loc", [])]
    if loc and loc[0] in ("body", "query", "path", "form", "file", "header", "cookie"):
        loc = loc[1:]  # ninja's first entry says where the value was looked for
    if loc and loc[0] == "payload":
        loc = loc[1:]
    field = ".".join(loc) or None
    msg = first.get("msg", "invalid input")
    return _error(request, 400, "validation_failed", f"输入无效：{field or ''} {msg}".strip(), f"invalid input: {field or ''} {msg}".strip(), field)


@api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthenticated", "请先登录或提供有效令牌", "log in or give a valid token", None)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "http_error", str(exc), str(exc), None)


from yingshang.appeals.api import router as appeals_router  # noqa: E402
from yingshang.core.api import router as core_router  # noqa: E402
from yingshang.enterprises.api import router as enterprises_router  # noqa: E402
from yingshang.liaison.api import router as liaison_router  # noqa: E402
from yingshang.policies.api import router as policies_router  # noqa: E402
from yingshang.service_items.api import router as services_router  # noqa: E402
from yingshang.supervision.api import router as credit_router  # noqa: E402

api.add_router("/", core_router)
api.add_router("/enterprises", enterprises_router)
api.add_router("/appeals", appeals_router)
api.add_router("/liaison", liaison_router)
api.add_router("/services", services_router)
api.add_router("/policies", policies_router)
api.add_router("/credit", credit_router)
