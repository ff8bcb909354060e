from django.urls import path

from . import views, views_figures

app_name = "policies"
urlpatterns = [
    # public: the three lists and notices
    path("", views.index_view, name="index"),
    path("items/", views.items_view, name="items"),
    path("documents/<int:pk>/", views.document_detail_view, name="document"),
    path("items/<int:pk>/", views.item_detail_view, name="item"),
    path("notices/", views.notices_view, name="notices"),
    path("notices/applications/<int:pk>/", views.application_notice_view, name="application_notice"),
    path("lists/<int:pk>/notice/", views.list_notice_view, name="list_notice"),
    path("lists/<int:pk>/object/", views.list_object_view, name="list_object"),
    # policy officers
    path("documents/new/", views.document_edit_view, name="document_new"),
    path("documents/<int:pk>/edit/", views.document_edit_view, name="document_edit"),
    path("documents/<int:pk>/act/<str:action>/", views.document_act_view, name="document_act"),
    path("items/new/", views.item_edit_view, name="item_new"),
    path("items/<int:pk>/edit/", views.item_edit_view, name="item_edit"),
    path("items/<int:pk>/act/<str:action>/", views.item_act_view, name="item_act"),
    path("items/<int:pk>/rule/", views.item_rule_view, name="item_rule"),
    path("items/<int:pk>/matches/", views.item_matches_view, name="item_matches"),
    path("rules/check/", views.rule_check_view, name="rule_check"),
    path("rules/simulate/", views.rule_simulate_view, name="rule_simulate"),
    path("rules/fields/", views.fields_view, name="fields"),
    # one enterprise
    path("items/<int:pk>/explain/", views.explain_view, name="explain"),
    path("items/<int:pk>/apply/", views.apply_view, name="apply"),
    path("mine/", views.mine_view, name="mine"),
    path("mine/account/", views.mine_account_view, name="mine_account"),
    # applications
    path("applications/", views.applications_view, name="applications"),
    path("applications/<int:pk>/", views.application_detail_view, name="application"),
    path("applications/<int:pk>/act/<str:action>/", views.application_act_view, name="application_act"),
    path("applications/<int:pk>/files/<int:attachment_pk>/", views.application_file_view, name="application_file"),
    # 免申即享 lists and objections
    path("lists/", views.lists_view, name="lists"),
    path("lists/<int:pk>/", views.list_detail_view, name="list"),
    path("lists/<int:pk>/act/<str:action>/", views.list_act_view, name="list_act"),
    path("objections/", views.objections_view, name="objections"),
    path("objections/<int:pk>/", views.objection_detail_view, name="objection"),
    # the ledger and the bank
    path("payouts/", views.payouts_view, name="payouts"),
    path("payouts/retry/", views.payouts_retry_view, name="payouts_retry"),
    path("batches/", views.batches_view, name="batches"),
    path("batches/new/", views.batch_new_view, name="batch_new"),
    path("batches/confirmations/", views.confirmations_view, name="confirmations"),
    path("batches/<int:pk>/", views.batch_detail_view, name="batch"),
    path("batches/<int:pk>/export/", views.batch_export_view, name="batch_export"),
    # figures
    path("figures/", views_figures.figures_view, name="figures"),
]
