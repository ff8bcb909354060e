from django.urls import path, re_path

from . import views

app_name = "service_items"
urlpatterns = [
    # the public catalogue and the QR guides (码上办)
    path("", views.catalogue_view, name="catalogue"),
    path("guide/item/<str:code>/", views.guide_item_view, name="guide_item"),
    path("guide/bundle/<str:code>/", views.guide_bundle_view, name="guide_bundle"),
    path("guide/template/<int:pk>/", views.template_view, name="template"),
    re_path(r"^qr/(?P<kind>item|bundle)/(?P<code>[^/]+)\.(?P<fmt>svg|png)$", views.qr_view, name="qr"),
    path("qr/sheet/", views.qr_sheet_view, name="qr_sheet"),
    # catalogue editing (the office)
    path("items/new/", views.item_edit_view, name="item_new"),
    path("items/<int:pk>/", views.item_edit_view, name="item_edit"),
    path("items/<int:pk>/materials/<str:action>/", views.material_act_view, name="material_act"),
    path("bundles/new/", views.bundle_edit_view, name="bundle_new"),
    path("bundles/<int:pk>/", views.bundle_edit_view, name="bundle_edit"),
    path("tree/", views.tree_edit_view, name="tree_edit"),
    path("tree/act/<str:action>/", views.tree_act_view, name="tree_act"),
    path("catalogue/import/", views.catalogue_import_view, name="import"),
    path("catalogue/export/", views.catalogue_export_view, name="export"),
    # applications and cases
    re_path(r"^apply/(?P<kind>item|bundle)/(?P<code>[^/]+)/$", views.apply_view, name="apply"),
    path("cases/", views.case_list_view, name="cases"),
    path("cases/<int:pk>/", views.case_detail_view, name="case_detail"),
    path("cases/<int:pk>/act/<str:action>/", views.case_act_view, name="case_act"),
    path("cases/<int:pk>/files/<int:attachment_pk>/", views.case_file_view, name="case_file"),
    path("cases/<int:pk>/rate-qr.svg", views.case_rate_qr_view, name="case_rate_qr"),
    path("rate/<str:token>/", views.rate_token_view, name="rate"),
    # monitoring, supervision pushes, 好差评 rectification, figures
    path("monitor/", views.monitor_view, name="monitor"),
    path("pushes/", views.pushes_view, name="pushes"),
    path("pushes/<int:pk>/ack/", views.push_ack_view, name="push_ack"),
    path("rectifications/", views.rectification_list_view, name="rectifications"),
    path("rectifications/<int:pk>/", views.rectification_detail_view, name="rectification_detail"),
    path("rectifications/<int:pk>/act/<str:action>/", views.rectification_act_view, name="rectification_act"),
    path("figures/", views.figures_view, name="figures"),
]
