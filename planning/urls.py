from django.urls import path

from . import views

urlpatterns = [
    path("sprints/", views.sprint_list, name="sprint-list"),
    path("sprints/<int:sprint_id>/", views.sprint_detail, name="sprint-detail"),
    path("sprints/<int:sprint_id>/graph/", views.sprint_graph, name="sprint-graph"),
    path("sprints/<int:sprint_id>/live/", views.sprint_live, name="sprint-live"),
    path(
        "sprints/<int:sprint_id>/adjustments/", views.adjustment_add, name="sprint-adjustment-add"
    ),
    path(
        "sprints/<int:sprint_id>/adjustments/<int:adjustment_id>/delete/",
        views.adjustment_remove,
        name="sprint-adjustment-remove",
    ),
    path("sprints/<int:sprint_id>/what-if/", views.what_if, name="sprint-what-if"),
    path(
        "sprints/<int:sprint_id>/capacity/<str:team_key>/",
        views.capacity_edit,
        name="sprint-capacity-edit",
    ),
    path("sprints/<int:sprint_id>/commit/", views.sprint_commit, name="sprint-commit"),
    path("sprints/<int:sprint_id>/close/", views.sprint_close, name="sprint-close"),
    path("planning/", views.planning_room, name="planning-room"),
    path("planning/<int:sprint_id>/goals/", views.planning_goal_add, name="planning-goal-add"),
    path(
        "planning/<int:sprint_id>/goals/<int:goal_id>/delete/",
        views.planning_goal_remove,
        name="planning-goal-remove",
    ),
    path("planning/<int:sprint_id>/risks/", views.risk_add, name="planning-risk-add"),
    path(
        "planning/<int:sprint_id>/risks/<int:risk_id>/",
        views.risk_update,
        name="planning-risk-update",
    ),
    path(
        "planning/<str:action>/",
        views.planning_move,
        name="planning-move",
    ),
]
