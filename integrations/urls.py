from django.urls import path

from . import views

urlpatterns = [
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
