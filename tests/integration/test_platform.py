"""Login with lockout, password rules, session timeout, production-mode refusal, attachments,
notifications."""

import io
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from tests.conftest import PASSWORD

from yingshang.core import services
from yingshang.core.errors import ValidationFailed
from yingshang.core.models import Attachment, AuditRecord, Notification, User


def test_login_page_and_lockout(county, client):
    r = client.post("/login/", {"username": "handler_a", "password": PASSWORD})
    assert r.status_code == 302
    client.logout()
    for _ in range(settings.LOGIN_MAX_FAILURES):
        r = client.post("/login/", {"username": "handler_a", "password": "wrong"})
        assert r.status_code == 401
    r = client.post("/login/", {"username": "handler_a", "password": PASSWORD})
    assert r.status_code == 401 and "账号已锁定" in r.content.decode()
    assert User.objects.get(username="handler_a").locked_until is not None
    assert AuditRecord.objects.filter(action="user.login_failed").count() == settings.LOGIN_MAX_FAILURES
    # the security administrator unlocks it
    client.force_login(county.security)
    assert client.post(f"/accounts/{county.handler_a.pk}/unlock/").status_code == 302
    client.logout()
    assert client.post("/login/", {"username": "handler_a", "password": PASSWORD}).status_code == 302


def test_unknown_user_and_inactive_get_the_same_answer(county, client):
    r1 = client.post("/login/", {"username": "nobody", "password": "x"})
    services.user_set_active(actor=county.security, user=county.handler_b, active=False)
    r2 = client.post("/login/", {"username": "handler_b", "password": PASSWORD})
    assert r1.status_code == r2.status_code == 401
    assert "用户名或密码错误" in r1.content.decode() and "用户名或密码错误" in r2.content.decode()


@pytest.mark.parametrize("pw", ["short1!A", "alllowercaseletters", "12345678901", "Abcdefghijk"])
def test_weak_passwords_refused(county, pw):
    with pytest.raises(ValidationFailed) as exc:
        services.user_create(actor=county.security, username="new1", password=pw, role="leader")
    assert exc.value.field == "password"
    assert not User.objects.filter(username="new1").exists()


def test_account_binding_rules(county):
    with pytest.raises(ValidationFailed):
        services.user_create(actor=county.security, username="e1", password=PASSWORD, role="enterprise")
    with pytest.raises(ValidationFailed):
        services.user_create(actor=county.security, username="h1", password=PASSWORD, role="handler")
    u = services.user_create(actor=county.security, username="h1", password=PASSWORD, role="handler",
                             department=county.dept_a)
    assert u.department == county.dept_a


def test_session_timeout_is_sliding_and_short():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST


def test_csrf_enforced_on_login(county):
    from django.test import Client

    c = Client(enforce_csrf_checks=True)
    assert c.post("/login/", {"username": "handler_a", "password": PASSWORD}).status_code == 403


def test_demo_accounts_refused_when_disabled(county, settings):
    county.leader.is_demo = True
    county.leader.save()
    settings.DEMO_ACCOUNTS_ENABLED = False
    with pytest.raises(services.LoginRefused, match="演示账号已停用"):
        services.login_attempt(username="leader", password=PASSWORD)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DEBUG": "true"}, "DEBUG is on"),
        ({"DEBUG": "false"}, "SECRET_KEY"),
        ({"DEBUG": "false", "SECRET_KEY": "x" * 40}, "YINGSHANG_DEMO_ACCOUNTS"),
    ],
)
def test_production_mode_refuses_unsafe_settings(env, message):
    full = {**os.environ, "YINGSHANG_MODE": "production", **env}
    full.pop("SECRET_KEY", None) if "SECRET_KEY" not in env else None
    if "YINGSHANG_DEMO_ACCOUNTS" not in env and "SECRET_KEY" in env:
        full["YINGSHANG_DEMO_ACCOUNTS"] = "true"
    r = subprocess.run([sys.executable, "-m", "yingshang.manage", "check"], env=full, capture_output=True, text=True)
    assert r.returncode != 0
    assert message in r.stderr


def test_production_mode_starts_when_safe():
    full = {**os.environ, "YINGSHANG_MODE": "production", "DEBUG": "false", "SECRET_KEY": "k" * 50,
            "YINGSHANG_DEMO_ACCOUNTS": "false"}
    r = subprocess.run([sys.executable, "-m", "yingshang.manage", "check"], env=full, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_strict_env_parsing():
    full = {**os.environ, "DEBUG": "maybe"}
    r = subprocess.run([sys.executable, "-m", "yingshang.manage", "check"], env=full, capture_output=True, text=True)
    assert r.returncode != 0 and "DEBUG='maybe'" in r.stderr


PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 40


def test_attachment_sniffs_content(county, settings):
    att = services.attachment_store(upload=SimpleUploadedFile("photo.png", PNG), name="photo.png", actor=county.handler_a)
    assert att.kind == "png" and att.size == len(PNG)
    # a PNG renamed to .pdf is stored as what it is; an executable renamed to .pdf is refused
    with pytest.raises(ValidationFailed, match="不支持"):
        services.attachment_store(upload=SimpleUploadedFile("x.pdf", b"MZ\x90\x00" + b"\x00" * 100), name="x.pdf",
                                  actor=county.handler_a)
    settings.ATTACHMENT_MAX_BYTES = 50
    with pytest.raises(ValidationFailed, match="上限"):
        services.attachment_store(upload=SimpleUploadedFile("big.png", PNG), name="big.png", actor=county.handler_a)
    with pytest.raises(ValidationFailed):
        services.attachment_store(upload=io.BytesIO(b""), name="e.txt", actor=county.handler_a)
    assert Attachment.objects.count() == 1


def test_notifications_inbox_and_channels(county, client, django_capture_on_commit_callbacks, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    county.handler_a.email = "a@example.org"
    county.handler_a.save()
    from django.core import mail
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.notify(recipients=[county.handler_a, county.head_a], title="新诉求待签收", body="请在 1 个工作日内签收",
                        channels=("email", "sms", "webhook"))
    # immediate task backend in tests: delivered after commit
    n = Notification.objects.get(recipient=county.handler_a)
    assert n.delivered == {"email": "sent", "sms": "logged", "webhook": "logged"}
    assert len(mail.outbox) == 1 and mail.outbox[0].subject == "新诉求待签收"
    client.force_login(county.handler_a)
    page = client.get("/inbox/").content.decode()
    assert "新诉求待签收" in page
    assert client.post(f"/inbox/{n.pk}/read/").status_code == 302
    n.refresh_from_db()
    assert n.read_at is not None
    # another user's message cannot be marked
    other = Notification.objects.get(recipient=county.head_a)
    assert client.post(f"/inbox/{other.pk}/read/").status_code == 404
