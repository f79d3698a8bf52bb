from django.urls import path

from . import views

urlpatterns = [
    path("integrations/", views.integration_list, name="integration-list"),
    path("integrations/new/", views.integration_create, name="integration-create"),
    path(
        "integrations/<int:integration_id>/rotate-secret/",
        views.integration_rotate_secret,
        name="integration-rotate-secret",
    ),
    path(
        "integrations/<int:integration_id>/edit/", views.integration_edit, name="integration-edit"
    ),
    path(
        "integrations/<int:integration_id>/pause/",
        views.integration_pause,
        name="integration-pause",
    ),
    path(
        "integrations/<int:integration_id>/delete/",
        views.integration_delete,
        name="integration-delete",
    ),
    path(
        "integrations/<int:integration_id>/projects/preview/",
        views.project_link_preview,
        name="integration-project-preview",
    ),
    path(
        "integrations/<int:integration_id>/projects/",
        views.project_link,
        name="integration-project-link",
    ),
    path(
        "integrations/<int:integration_id>/projects/<int:link_id>/unlink/",
        views.project_unlink,
        name="integration-project-unlink",
    ),
    path(
        "integrations/<int:integration_id>/datasets/",
        views.dataset_link,
        name="integration-dataset-link",
    ),
    path(
        "integrations/<int:integration_id>/deliveries/",
        views.integration_deliveries,
        name="integration-deliveries",
    ),
    path(
        "integrations/deliveries/<int:delivery_id>/reprocess/",
        views.delivery_reprocess,
        name="integration-delivery-reprocess",
    ),
    path(
        "hooks/label-studio/<int:integration_id>/",
        views.label_studio_webhook,
        name="webhook-label-studio",
    ),
    path("hooks/mlflow/<int:integration_id>/", views.mlflow_webhook, name="webhook-mlflow"),
    path("hooks/junit/<int:integration_id>/", views.junit_upload, name="webhook-junit"),
    path("hooks/wandb/<int:integration_id>/", views.wandb_webhook, name="webhook-wandb"),
    path(
        "hooks/wandb/<int:integration_id>/summary/",
        views.wandb_summary_upload,
        name="webhook-wandb-summary",
    ),
    path("hooks/dvc/<int:integration_id>/", views.dvc_upload, name="webhook-dvc"),
    path("hooks/prodigy/<int:integration_id>/", views.prodigy_upload, name="webhook-prodigy"),
]

WEBHOOK_URL_NAMES = {
    "label_studio": "webhook-label-studio",
    "mlflow": "webhook-mlflow",
    "junit": "webhook-junit",
    "wandb": "webhook-wandb",
    "dvc": "webhook-dvc",
    "prodigy": "webhook-prodigy",
}
