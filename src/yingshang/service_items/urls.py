from django.urls import path  # noqa: F401

app_name = "service_items"
urlpatterns: list = []
