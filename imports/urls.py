from django.urls import path

from . import views

urlpatterns = [
    path("imports/", views.import_list, name="import-list"),
    path("imports/new/", views.import_create, name="import-create"),
    path("imports/<int:job_id>/", views.import_detail, name="import-detail"),
    path("imports/<int:job_id>/map/", views.import_map, name="import-map"),
    path("imports/<int:job_id>/apply/", views.import_apply, name="import-apply"),
    path("exports/sprintplan.json", views.export_json, name="export-json"),
    path("exports/jira.csv", views.export_csv, name="export-csv"),
    path("exports/jira-config.json", views.export_csv_config, name="export-csv-config"),
]
