from django.urls import path

from . import views

app_name = "supervision"
urlpatterns = [
    path("credit/", views.credit_list_view, name="credit"),
    path("credit/add/", views.credit_add_view, name="credit_add"),
    path("credit/import/", views.credit_import_view, name="credit_import"),
    path("credit/import/template.xlsx", views.credit_template_view, name="credit_template"),
    path("credit/<int:pk>/remove/", views.credit_remove_view, name="credit_remove"),
]
