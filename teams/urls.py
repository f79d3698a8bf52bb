from django.urls import path

from . import views

urlpatterns = [
    path("teams/<str:prefix>/board/", views.team_board, name="team-board"),
    path("teams/<str:prefix>/board/live/", views.team_board_live, name="team-board-live"),
    path("teams/<str:prefix>/board/wip/", views.board_wip, name="team-board-wip"),
    path(
        "teams/<str:prefix>/board/adjustments/",
        views.board_adjustment_add,
        name="team-board-adjustment-add",
    ),
    path(
        "teams/<str:prefix>/board/adjustments/<int:adjustment_id>/remove/",
        views.board_adjustment_remove,
        name="team-board-adjustment-remove",
    ),
    path("teams/<str:prefix>/board/tickets/<str:key>/", views.board_card, name="team-board-card"),
]
