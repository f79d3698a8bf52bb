from django.urls import path

from .views import not_built_yet

urlpatterns = [
    path("pi/<int:pk>/scrum-of-scrums/", not_built_yet, name="pi-sos"),
    path("pi/<int:pk>/indicators/", not_built_yet, name="pi-indicators"),
]
