from django.urls import path

from .views import not_built_yet

urlpatterns = [
    path("pi/<int:pk>/objectives/", not_built_yet, name="pi-objectives"),
    path("pi/<int:pk>/risks/", not_built_yet, name="pi-risks"),
    path("programs/<int:pk>/raci/", not_built_yet, name="program-raci"),
    path("programs/<int:pk>/decisions/", not_built_yet, name="program-decisions"),
]
