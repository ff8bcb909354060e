from django.urls import path

from . import views

app_name = "enterprises"
urlpatterns = [
    path("", views.enterprise_list_view, name="list"),
    path("export.xlsx", views.export_view, name="export"),
    path("import/", views.import_view, name="import"),
    path("import/template.xlsx", views.import_template_view, name="import_template"),
    path("import/<int:pk>/", views.import_job_view, name="import_job"),
    path("import/<int:pk>/errors.xlsx", views.import_errors_view, name="import_errors"),
    path("<int:pk>/", views.enterprise_detail_view, name="detail"),
]
