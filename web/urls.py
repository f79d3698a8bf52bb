"""The URL root: every page and endpoint of the product. It stands on the top floor because
it names every app's routes."""

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

import accounts.api
import dependencies.api
import imports.api
import integrations.api
import notifications.api
import planning.api
import programs.api
import quality.api
import teams.api
import web.api
from accounts.api import ObtainTokenView, RevokeTokenView
from sprintplan.api import ApiRouter
from sprintplan.views import health, live_stream

from .views import (
    board,
    ceremonies,
    create,
    forecast,
    home,
    people,
    sprint_edit,
    sprints,
    start,
    tickets,
)

# Swagger UI adds one fixed <style> element of its own; only that one is let through (CSP).
SWAGGER_UI_STYLE_HASH = "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"

# Each app registers its own endpoints (`register(router)` in its api module).
router = ApiRouter()
for api in (
    accounts.api,
    teams.api,
    planning.api,
    web.api,
    dependencies.api,
    quality.api,
    integrations.api,
    imports.api,
    notifications.api,
    programs.api,
):
    api.register(router)

pages = [
    path("", home.home, name="home"),
    path("sprints/", sprints.sprint_list, name="sprint-list"),
    path("sprints/<int:sprint_id>/", sprints.sprint_detail, name="sprint-detail"),
    path("sprints/<int:sprint_id>/graph/", sprints.sprint_graph, name="sprint-graph"),
    path("sprints/<int:sprint_id>/edit/", sprint_edit.sprint_edit, name="sprint-edit"),
    path("sprints/<int:sprint_id>/live/", sprints.sprint_live, name="sprint-live"),
    path("sprints/<int:sprint_id>/burn/", sprints.sprint_burn, name="sprint-burn"),
    path("sprints/<int:sprint_id>/dod/", sprints.sprint_dod, name="sprint-dod"),
    path("sprints/<int:sprint_id>/rows/", sprints.sprint_rows, name="sprint-rows"),
    path(
        "sprints/<int:sprint_id>/adjustments/", sprints.adjustment_add, name="sprint-adjustment-add"
    ),
    path(
        "sprints/<int:sprint_id>/adjustments/<int:adjustment_id>/delete/",
        sprints.adjustment_remove,
        name="sprint-adjustment-remove",
    ),
    path("sprints/<int:sprint_id>/what-if/", sprints.what_if, name="sprint-what-if"),
    path("sprints/<int:sprint_id>/options/", forecast.sprint_options, name="sprint-options"),
    path(
        "sprints/<int:sprint_id>/options/apply/",
        forecast.sprint_option_apply,
        name="sprint-option-apply",
    ),
    path(
        "sprints/<int:sprint_id>/assumptions/",
        forecast.sprint_assumption_add,
        name="sprint-assumption-add",
    ),
    path(
        "sprints/<int:sprint_id>/capacity/<str:team_key>/",
        sprints.capacity_edit,
        name="sprint-capacity-edit",
    ),
    path("sprints/<int:sprint_id>/commit/", sprints.sprint_commit, name="sprint-commit"),
    path("sprints/<int:sprint_id>/start/", start.sprint_start, name="sprint-start"),
    path("sprints/<int:sprint_id>/teams/", start.sprint_teams, name="sprint-teams"),
    path("sprints/<int:sprint_id>/close/", sprints.sprint_close, name="sprint-close"),
    path("sprints/<int:sprint_id>/standup/", ceremonies.standup, name="sprint-standup"),
    path(
        "sprints/<int:sprint_id>/standup/held/", ceremonies.standup_hold, name="sprint-standup-hold"
    ),
    path(
        "sprints/<int:sprint_id>/goals/<int:goal_id>/threshold/",
        ceremonies.goal_threshold,
        name="sprint-goal-threshold",
    ),
    path("sprints/<int:sprint_id>/review/", ceremonies.review, name="sprint-review"),
    path("sprints/<int:sprint_id>/retro/", ceremonies.retro, name="sprint-retro"),
    path("sprints/<int:sprint_id>/retro/notes/", ceremonies.retro_add, name="sprint-retro-add"),
    path(
        "sprints/<int:sprint_id>/retro/actions/<int:item_id>/ticket/",
        ceremonies.retro_action_ticket,
        name="sprint-retro-action-ticket",
    ),
    path(
        "sprints/<int:sprint_id>/retro/actions/<int:item_id>/done/",
        ceremonies.retro_action_done,
        name="sprint-retro-action-done",
    ),
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
    path("people/<str:username>/edit/", people.person_edit, name="person-edit"),
    path("teams/<str:prefix>/board/", board.team_board, name="team-board"),
    path("teams/<str:prefix>/board/live/", board.team_board_live, name="team-board-live"),
    path(
        "teams/<str:prefix>/board/holidays/",
        board.board_holiday_add,
        name="team-board-holiday-add",
    ),
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
    path("live/", live_stream, name="live-stream"),
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
    # Before the pages: Django tries patterns in order, and the pages' empty-prefix
    # includes made every API request walk past ~190 of them first.
    # Namespaced so the API's route names (ticket-detail, ...) never shadow the pages'.
    path("api/v1/", include((router.urls, "api"), namespace="api")),
    path("api/v1/auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("api/v1/auth/token/revoke/", RevokeTokenView.as_view(), name="api-token-revoke"),
    path("", include(pages)),
    path("", include("quality.urls")),
    path("", include("integrations.urls")),
    path("", include("imports.urls")),
    path("", include("notifications.urls")),
    path("", include("programs.urls")),
    path(settings.ADMIN_PATH, admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    path(
        "api/docs/",
        csp_update({"style-src": [SWAGGER_UI_STYLE_HASH]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
]
handler500 = "sprintplan.views.server_error"
