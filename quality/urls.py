from django.urls import path

from . import views

urlpatterns = [
    path("dod/", views.dod_page, name="dod"),
    path("dod/criteria/", views.criterion_add, name="dod-criterion-add"),
    path("dod/criteria/<slug:code>/remove/", views.criterion_remove, name="dod-criterion-remove"),
    path("dod/versions/<int:version>/accept/", views.definition_accept, name="dod-accept"),
]
