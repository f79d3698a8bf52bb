from django.urls import include, path

urlpatterns = [
    path("", include("programs.urls_board")),
    path("", include("programs.urls_governance")),
    path("", include("programs.urls_insight")),
]
