"""/api/v1/integrations/: settings data for each integration and its last deliveries."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.policy import can_manage_integrations, can_view_deliveries
from sprintplan.api import StrictModelSerializer, StrictSerializer
from sprintplan.errors import PermissionDenied
from teams.models import Team
from tickets.models import Ticket

from . import services
from .models import Delivery, Integration, LabelStudioProject
from .urls import WEBHOOK_URL_NAMES

RECENT_DELIVERIES = 50


class IntegrationSerializer(StrictModelSerializer):
    """Never includes the secret: it is shown once, on creation or rotation."""

    webhook_url = serializers.SerializerMethodField()
    team_prefix = serializers.CharField(source="team.key_prefix", read_only=True)
    service_user = serializers.CharField(source="service_user.username", read_only=True)

    class Meta:
        model = Integration
        fields = [
            "id",
            "name",
            "kind",
            "team",
            "team_prefix",
            "service_user",
            "webhook_url",
            "config",
            "is_active",
            "rejected_count",
            "created_at",
        ]

    def get_webhook_url(self, integration) -> str | None:
        name = WEBHOOK_URL_NAMES.get(integration.kind)
        if name is None:  # the evidence API integration posts to /api/v1/evidence/
            return None
        path = reverse(name, args=[integration.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class IntegrationInputSerializer(StrictSerializer):
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Integration.Kind.choices)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all())
    config = serializers.JSONField(required=False, default=dict)


class SecretSerializer(StrictSerializer):
    secret = serializers.CharField()


class DeliverySerializer(StrictModelSerializer):
    class Meta:
        model = Delivery
        fields = ["id", "received_at", "event", "status", "error", "headers", "processed_at"]


class ProjectLinkSerializer(StrictModelSerializer):
    ticket = serializers.SlugRelatedField(
        slug_field="key", queryset=Ticket.objects.select_related("team")
    )

    class Meta:
        model = LabelStudioProject
        fields = ["id", "project_id", "ticket", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = []


class IntegrationViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Scrum master: set up integrations (the secret and API token are in the creation
    answer only). Team leads see their team's integrations and deliveries."""

    serializer_class = IntegrationSerializer

    def get_queryset(self):
        rows = Integration.objects.select_related("team", "service_user").order_by("name")
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return rows.none()
        user = self.request.user
        if can_manage_integrations(user):
            return rows
        lead_of = [
            team for team, role in user.memberships.values_list("team_id", "role") if role == "lead"
        ]
        return rows.filter(team_id__in=lead_of)

    @extend_schema(request=IntegrationInputSerializer, responses={201: IntegrationSerializer})
    def create(self, request, *args, **kwargs):
        serializer = IntegrationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = services.integration_create(actor=request.user, **serializer.validated_data)
        body = {
            **self.get_serializer(created.integration).data,
            "secret": created.secret,
            "api_token": created.api_token,
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: SecretSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        secret = services.integration_rotate_secret(
            actor=request.user, integration=self.get_object()
        )
        return Response({"secret": secret})

    @extend_schema(responses={200: DeliverySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        integration = self.get_object()
        if not can_view_deliveries(request.user, integration.team_id):
            raise PermissionDenied("Only the Scrum master or the team's lead may see deliveries.")
        rows = integration.deliveries.order_by("-received_at", "-id")[:RECENT_DELIVERIES]
        return Response(DeliverySerializer(rows, many=True).data)

    @extend_schema(request=ProjectLinkSerializer, responses={200: ProjectLinkSerializer(many=True)})
    @action(detail=True, methods=["get", "post"])
    def projects(self, request, pk=None):
        """Label Studio project ids and the labeling tickets they feed."""
        integration = self.get_object()
        if request.method == "POST":
            serializer = ProjectLinkSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            link = services.label_studio_project_link(
                actor=request.user, integration=integration, **serializer.validated_data
            )
            return Response(ProjectLinkSerializer(link).data, status=status.HTTP_201_CREATED)
        rows = integration.label_studio_projects.select_related("ticket")
        return Response(ProjectLinkSerializer(rows, many=True).data)


def register(router) -> None:
    router.register("integrations", IntegrationViewSet, basename="integration")
