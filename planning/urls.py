from django.urls import path

from . import views

urlpatterns = [
    path("sprints/", views.sprint_list, name="sprint-list"),
    path("sprints/<int:sprint_id>/", views.sprint_detail, name="sprint-detail"),
    path("sprints/<int:sprint_id>/graph/", views.sprint_graph, name="sprint-graph"),
    path("sprints/<int:sprint_id>/live/", views.sprint_live, name="sprint-live"),
]
