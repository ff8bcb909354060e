"""Domain errors: a small hierarchy with a Chinese and an English message and the field at fault.
Mapped to HTTP in one place (``yingshang.api``) and shown as messages on pages."""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, message_en: str, *, field: str | None = None, code: str | None = None):
        super().__init__(f"{message} / {message_en}")
        self.message = message
        self.message_en = message_en
        self.field = field
        if code:
            self.code = code

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "message_en": self.message_en, "field": self.field}


class ValidationFailed(DomainError):
    status = 400
    code = "validation_failed"


class NotPermitted(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


def from_django_validation(exc) -> ValidationFailed:  # type: ignore[no-untyped-def]
    """Turn a Django ``ValidationError`` from ``full_clean()`` into our error (first field)."""
    if hasattr(exc, "message_dict"):
        field, messages = next(iter(exc.message_dict.items()))
        text = "; ".join(str(m) for m in messages)
        return ValidationFailed(f"{field}：{text}", f"{field}: {text}", field=None if field == "__all__" else field)
    text = "; ".join(str(m) for m in exc.messages)
    return ValidationFailed(text, text)
