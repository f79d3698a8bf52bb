from django.urls import path

from .views import governance as views

urlpatterns = [
    path("pi/<int:pk>/objectives/", views.objectives_page, name="pi-objectives"),
    path("pi/<int:pk>/objectives/add/", views.objective_add, name="pi-objective-add"),
    path(
        "pi/<int:pk>/objectives/<int:objective_id>/",
        views.objective_edit,
        name="pi-objective-edit",
    ),
    path(
        "pi/<int:pk>/objectives/<int:objective_id>/delete/",
        views.objective_remove,
        name="pi-objective-delete",
    ),
    path("pi/<int:pk>/risks/", views.risks_page, name="pi-risks"),
    path("pi/<int:pk>/risks/add/", views.risk_add, name="pi-risk-add"),
    path("pi/<int:pk>/risks/take/<int:source_id>/", views.risk_take, name="pi-risk-take"),
    path("pi/<int:pk>/risks/<int:risk_id>/", views.risk_edit, name="pi-risk-edit"),
    path("pi/<int:pk>/risks/<int:risk_id>/roam/", views.risk_roam, name="pi-risk-roam"),
    path("pi/<int:pk>/risks/<int:risk_id>/feed/", views.risk_feed, name="pi-risk-feed"),
    path("pi/<int:pk>/risks/<int:risk_id>/withdraw/", views.risk_withdraw, name="pi-risk-withdraw"),
    path("pi/<int:pk>/risks/<int:risk_id>/delete/", views.risk_remove, name="pi-risk-delete"),
    path("programs/<int:pk>/raci/", views.raci_page, name="program-raci"),
    path("programs/<int:pk>/raci/add/", views.raci_add, name="program-raci-add"),
    path("programs/<int:pk>/raci/<int:activity_id>/", views.raci_row, name="program-raci-row"),
    path(
        "programs/<int:pk>/raci/<int:activity_id>/delete/",
        views.raci_remove,
        name="program-raci-delete",
    ),
    path("programs/<int:pk>/decisions/", views.decisions_page, name="program-decisions"),
    path("programs/<int:pk>/decisions/add/", views.decision_add, name="program-decision-add"),
    path(
        "programs/<int:pk>/decisions/<int:number>/",
        views.decision_edit,
        name="program-decision-edit",
    ),
]
