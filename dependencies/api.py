from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from sprintplan.api import StrictModelSerializer, StrictSerializer
from tickets.models import Ticket

from . import services
from .models import DependencyLink
from .selectors import insight_freshness


class LinkSerializer(StrictModelSerializer):
    blocker = serializers.SlugRelatedField(slug_field="key", queryset=Ticket.objects.all())
    blocked = serializers.SlugRelatedField(slug_field="key", queryset=Ticket.objects.all())

    class Meta:
        model = DependencyLink
        fields = ["id", "blocker", "blocked", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]
        validators = []  # duplicates and cycles are refused by the service, with their own codes


class FreshnessSerializer(StrictSerializer):
    pending_changes = serializers.IntegerField()
    graph_version = serializers.IntegerField()
    last_run_at = serializers.DateTimeField(allow_null=True)
    updating = serializers.BooleanField()


class DependencyLinkViewSet(
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """ "blocker blocks blocked" (finish-to-start). A link that would close a cycle is
    refused with 400 and the cycle as ticket keys: {"code": "cycle", "cycle": [...]}."""

    serializer_class = LinkSerializer
    queryset = DependencyLink.objects.select_related("blocker", "blocked").order_by("id")
    filterset_fields = {"blocker__key": ["exact"], "blocked__key": ["exact"]}

    def perform_create(self, serializer):
        serializer.instance = services.link_create(
            actor=self.request.user,
            blocker=serializer.validated_data["blocker"],
            blocked=serializer.validated_data["blocked"],
        )

    def perform_destroy(self, instance):
        services.link_delete(actor=self.request.user, link=instance)

    @extend_schema(responses={200: FreshnessSerializer})
    @action(detail=False, methods=["get"], url_path="freshness")
    def freshness(self, request):
        """How up to date the derived insights are (cheap; for polling)."""
        return Response(FreshnessSerializer(insight_freshness()).data, status=status.HTTP_200_OK)


def register(router) -> None:
    router.register("dependencies", DependencyLinkViewSet, basename="dependency")
