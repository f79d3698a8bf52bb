from django.urls import path

from . import api, views

urlpatterns = [
    path("notifications/", views.inbox, name="notification-inbox"),
    path("notifications/bell/", views.bell, name="notification-bell"),
    path("notifications/read-all/", views.mark_all_read, name="notification-read-all"),
    path("notifications/<int:notification_id>/read/", views.mark_read, name="notification-read"),
    path("notifications/preferences/", views.preferences_save, name="notification-preferences"),
    path("notifications/deliveries/", views.delivery_log, name="notification-deliveries"),
    path(
        "notifications/deliveries/<int:delivery_id>/retry/",
        views.delivery_retry,
        name="notification-delivery-retry",
    ),
    path("api/v1/notifications/watches/", api.WatchView.as_view(), name="api-notification-watch"),
    path(
        "api/v1/notifications/preferences/",
        api.PreferenceView.as_view(),
        name="api-notification-preferences",
    ),
]
