from django.urls import path

from .views import not_built_yet

urlpatterns = [
    path("programs/", not_built_yet, name="program-list"),
    path("programs/<int:pk>/", not_built_yet, name="program-detail"),
    path("pi/<int:pk>/board/", not_built_yet, name="pi-board"),
]
