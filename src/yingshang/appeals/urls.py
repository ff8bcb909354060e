from django.urls import path

from . import views

app_name = "appeals"
urlpatterns = [
    path("", views.appeal_list_view, name="list"),
    path("new/", views.appeal_new_view, name="new"),
    path("<int:pk>/", views.appeal_detail_view, name="detail"),
    path("<int:pk>/act/<str:action>/", views.appeal_act_view, name="act"),
]

try:
    from .views_figures import figures_view
except ImportError:  # written separately; the path appears once the module exists
    figures_view = None
if figures_view is not None:
    urlpatterns.append(path("figures/", figures_view, name="figures"))
