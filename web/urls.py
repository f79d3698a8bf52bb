"""The URL root: every page and endpoint of the product. It stands on the top floor because
it names every app's routes."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

import accounts.api
import dependencies.api
import integrations.api
import planning.api
import programs.api
import quality.api
import teams.api
import web.api
from sprintplan.views import health

from .views import board, create, home, people, sprints, start, tickets

# Each app registers its own endpoints (`register(router)` in its api module).
router = DefaultRouter()
for api in (
    accounts.api,
    teams.api,
    planning.api,
    web.api,
    dependencies.api,
    quality.api,
    integrations.api,
    programs.api,
):
    api.register(router)

pages = [
    path("", home.home, name="home"),
    path("sprints/", sprints.sprint_list, name="sprint-list"),
    path("sprints/<int:sprint_id>/", sprints.sprint_detail, name="sprint-detail"),
    path("sprints/<int:sprint_id>/graph/", sprints.sprint_graph, name="sprint-graph"),
    path("sprints/<int:sprint_id>/live/", sprints.sprint_live, name="sprint-live"),
    path(
        "sprints/<int:sprint_id>/adjustments/", sprints.adjustment_add, name="sprint-adjustment-add"
    ),
    path(
        "sprints/<int:sprint_id>/adjustments/<int:adjustment_id>/delete/",
        sprints.adjustment_remove,
        name="sprint-adjustment-remove",
    ),
    path("sprints/<int:sprint_id>/what-if/", sprints.what_if, name="sprint-what-if"),
    path(
        "sprints/<int:sprint_id>/capacity/<str:team_key>/",
        sprints.capacity_edit,
        name="sprint-capacity-edit",
    ),
    path("sprints/<int:sprint_id>/commit/", sprints.sprint_commit, name="sprint-commit"),
    path("sprints/<int:sprint_id>/start/", start.sprint_start, name="sprint-start"),
    path("sprints/<int:sprint_id>/teams/", start.sprint_teams, name="sprint-teams"),
    path("sprints/<int:sprint_id>/close/", sprints.sprint_close, name="sprint-close"),
    path("planning/", sprints.planning_room, name="planning-room"),
    path("planning/<int:sprint_id>/goals/", sprints.planning_goal_add, name="planning-goal-add"),
    path(
        "planning/<int:sprint_id>/goals/<int:goal_id>/delete/",
        sprints.planning_goal_remove,
        name="planning-goal-remove",
    ),
    path("planning/<int:sprint_id>/risks/", sprints.risk_add, name="planning-risk-add"),
    path(
        "planning/<int:sprint_id>/risks/<int:risk_id>/",
        sprints.risk_update,
        name="planning-risk-update",
    ),
    path(
        "planning/<str:action>/",
        sprints.planning_move,
        name="planning-move",
    ),
    path("tickets/new/", create.new_ticket, name="ticket-new"),
    path("tickets/quick-add/", create.quick_add, name="ticket-quick-add"),
    path("pick/people/", create.pick_people, name="pick-people"),
    path("pick/tickets/", create.pick_tickets, name="pick-tickets"),
    path("tickets/<str:key>/", tickets.ticket_detail, name="ticket-detail"),
    path("tickets/<str:key>/archive/", tickets.ticket_archive, name="ticket-archive"),
    path("tickets/<str:key>/comments/", tickets.comment_add, name="ticket-comment-add"),
    path(
        "tickets/<str:key>/comments/<int:comment_id>/",
        tickets.comment_change,
        name="ticket-comment-change",
    ),
    path("tickets/<str:key>/edit/", tickets.ticket_edit, name="ticket-edit"),
    path("tickets/<str:key>/inline/", tickets.ticket_inline_edit, name="ticket-inline-edit"),
    path("tickets/<str:key>/blockers/", tickets.blocker_add, name="ticket-blocker-add"),
    path("tickets/<str:key>/evidence/", tickets.evidence_add, name="ticket-evidence-add"),
    path(
        "tickets/<str:key>/blockers/<int:link_id>/delete/",
        tickets.blocker_remove,
        name="ticket-blocker-remove",
    ),
    path("teams/", people.team_list, name="team-list"),
    path("teams/<str:prefix>/", people.team_settings, name="team-settings"),
    path("teams/<str:prefix>/members/", people.member_add, name="team-member-add"),
    path(
        "teams/<str:prefix>/members/<str:username>/",
        people.member_change,
        name="team-member-change",
    ),
    path("people/", people.people, name="people"),
    path("people/<str:username>/", people.person_change, name="person-change"),
    path("teams/<str:prefix>/board/", board.team_board, name="team-board"),
    path("teams/<str:prefix>/board/live/", board.team_board_live, name="team-board-live"),
    path("teams/<str:prefix>/board/wip/", board.board_wip, name="team-board-wip"),
    path(
        "teams/<str:prefix>/board/adjustments/",
        board.board_adjustment_add,
        name="team-board-adjustment-add",
    ),
    path(
        "teams/<str:prefix>/board/adjustments/<int:adjustment_id>/remove/",
        board.board_adjustment_remove,
        name="team-board-adjustment-remove",
    ),
    path("teams/<str:prefix>/board/tickets/<str:key>/", board.board_card, name="team-board-card"),
]

urlpatterns = [
    path("health/", health, name="health"),
    path("login/", home.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The one-time link a new person gets: choose a password (Django's reset view; the token
    # stops working once a password is set).
    path(
        "welcome/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="registration/set_password.html",
            success_url="/login/?welcome=1",
        ),
        name="password-set",
    ),
    path("", include(pages)),
    path("", include("quality.urls")),
    path("", include("integrations.urls")),
    path("", include("programs.urls")),
    path("admin/", admin.site.urls),
    # Namespaced so the API's route names (ticket-detail, ...) never shadow the pages'.
    path("api/v1/", include((router.urls, "api"), namespace="api")),
    path("api/v1/auth/token/", obtain_auth_token, name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
