from django.urls import path

from . import views

urlpatterns = [
    path("tickets/<str:key>/", views.ticket_detail, name="ticket-detail"),
    path("tickets/<str:key>/edit/", views.ticket_edit, name="ticket-edit"),
    path("tickets/<str:key>/inline/", views.ticket_inline_edit, name="ticket-inline-edit"),
    path("tickets/<str:key>/blockers/", views.blocker_add, name="ticket-blocker-add"),
    path("tickets/<str:key>/evidence/", views.evidence_add, name="ticket-evidence-add"),
    path(
        "tickets/<str:key>/blockers/<int:link_id>/delete/",
        views.blocker_remove,
        name="ticket-blocker-remove",
    ),
]
