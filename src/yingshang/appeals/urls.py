from django.urls import path

from . import views, views_config, views_figures

app_name = "appeals"
urlpatterns = [
    path("", views.appeal_list_view, name="list"),
    path("new/", views.appeal_new_view, name="new"),
    path("figures/", views_figures.figures_view, name="figures"),
    path("categories/", views_config.categories_view, name="categories"),
    path("<int:pk>/", views.appeal_detail_view, name="detail"),
    path("<int:pk>/files/<int:attachment_pk>/", views.appeal_attachment_view, name="attachment"),
    path("<int:pk>/act/<str:action>/", views.appeal_act_view, name="act"),
]
