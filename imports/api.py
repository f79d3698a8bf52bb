"""/api/v1/imports/: create (a file or a Jira source), map, preview, apply, status.
Scrum master only, as the pages; writes go through the services."""

from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.policy import can_import
from sprintplan.errors import PermissionDenied

from . import services
from .models import ImportJob


class ImportJobSerializer(serializers.ModelSerializer):
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    eta_seconds = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "source",
            "state",
            "state_label",
            "site",
            "filename",
            "jql",
            "phase",
            "done",
            "total",
            "eta_seconds",
            "error",
            "mapping",
            "catalogue",
            "report",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_eta_seconds(self, job) -> float | None:
        return services.eta_seconds(job)


class ImportCreateSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=ImportJob.Source.choices)
    file = serializers.FileField(required=False)
    site = serializers.CharField(required=False, allow_blank=True, default="")
    jql = serializers.CharField(required=False, allow_blank=True, default="")
    user = serializers.CharField(required=False, allow_blank=True, default="")
    token = serializers.CharField(required=False, allow_blank=True, default="", write_only=True)


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ImportJobSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return ImportJob.objects.none()
        if not can_import(self.request.user):
            raise PermissionDenied("Only the Scrum master may import or export backlogs.")
        return ImportJob.objects.defer("payload", "plan").order_by("-created_at", "-id")

    def create(self, request):
        data = ImportCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        job = services.import_create(actor=request.user, upload=values.pop("file", None), **values)
        return Response(ImportJobSerializer(job).data, status=202)

    @action(detail=True, methods=["post"])
    def map(self, request, pk=None):
        job = services.import_map(actor=request.user, job=self.get_object(), mapping=request.data)
        return Response(ImportJobSerializer(job).data, status=202)

    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        job = self.get_object()
        return Response({"state": job.state, **(job.preview or {})})

    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        job = services.import_apply(actor=request.user, job=self.get_object())
        return Response(ImportJobSerializer(job).data, status=202)

    @action(detail=True, methods=["get"])
    def status(self, request, pk=None):
        job = self.get_object()
        return Response(
            {
                "state": job.state,
                "phase": job.phase,
                "done": job.done,
                "total": job.total,
                "eta_seconds": services.eta_seconds(job),
                "error": job.error,
                "report": job.report,
            }
        )


def register(router) -> None:
    router.register("imports", ImportJobViewSet, basename="import")
