from django.urls import path

from .views import insight

urlpatterns = [
    path("pi/<int:pk>/scrum-of-scrums/", insight.pi_scrum_of_scrums, name="pi-sos"),
    path("pi/<int:pk>/indicators/", insight.pi_indicators, name="pi-indicators"),
]
