from django.contrib import admin

from . import models

for model in (
    models.Program,
    models.PlanningInterval,
    models.Iteration,
    models.Milestone,
    models.Feature,
    models.Objective,
    models.ProgramRisk,
    models.RaciActivity,
    models.Decision,
):
    admin.site.register(model)
