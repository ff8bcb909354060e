from django.urls import path

from . import views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("departments/", views.departments, name="departments"),
    path("departments/<int:pk>/", views.department_detail, name="department"),
    path("calendar/", views.calendar_view, name="calendar"),
    path("audit/", views.audit_view, name="audit"),
    path("accounts/", views.users_view, name="users"),
    path("accounts/<int:pk>/unlock/", views.user_unlock_view, name="user_unlock"),
    path("accounts/<int:pk>/active/", views.user_active_view, name="user_active"),
    path("accounts/<int:pk>/token/", views.user_token_view, name="user_token"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/read/", views.inbox_read, name="inbox_read"),
]
