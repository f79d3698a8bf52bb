from django.urls import path

from .views import board

urlpatterns = [
    path("programs/", board.program_list, name="program-list"),
    path("programs/new/", board.program_add, name="program-add"),
    path("programs/<int:pk>/", board.program_detail, name="program-detail"),
    path("programs/<int:pk>/pis/", board.pi_add, name="program-pi-add"),
    path("pi/<int:pk>/board/", board.pi_board, name="pi-board"),
    path("pi/<int:pk>/board/live/", board.pi_board_live, name="pi-board-live"),
    path("pi/<int:pk>/milestones/", board.milestone_add, name="pi-milestone-add"),
    path("pi/<int:pk>/features/", board.feature_add, name="pi-feature-add"),
    path("pi/<int:pk>/features/<int:feature_id>/move/", board.feature_move, name="pi-feature-move"),
    path(
        "pi/<int:pk>/features/<int:feature_id>/tickets/",
        board.feature_tickets,
        name="pi-feature-tickets",
    ),
]
