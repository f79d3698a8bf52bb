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
        "hooks/label-studio/<int:integration_id>/",
        views.label_studio_webhook,
        name="webhook-label-studio",
    ),
    path("hooks/mlflow/<int:integration_id>/", views.mlflow_webhook, name="webhook-mlflow"),
    path("hooks/junit/<int:integration_id>/", views.junit_upload, name="webhook-junit"),
]

WEBHOOK_URL_NAMES = {
    "label_studio": "webhook-label-studio",
    "mlflow": "webhook-mlflow",
    "junit": "webhook-junit",
}
