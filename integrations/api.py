"""/api/v1/integrations/: settings data for each integration and its last deliveries."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from accounts.policy import can_manage_integrations, can_view_deliveries
from sprintplan.api import StrictModelSerializer, StrictSerializer
from sprintplan.errors import InvalidInput, PermissionDenied
from teams.models import Team
from tickets.models import Ticket

from . import services
from .models import Delivery, Integration, LabelStudioProject, ProdigyDataset
from .urls import WEBHOOK_URL_NAMES


class IntegrationSerializer(StrictModelSerializer):
    """Never includes the secret: it is shown once, on creation or rotation."""

    webhook_url = serializers.SerializerMethodField()
    config = serializers.SerializerMethodField()
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

    def get_config(self, integration) -> dict:
        """Settings without secrets: a W&B API key is only said to be set."""
        config = dict(integration.config or {})
        if "api_key" in config:
            config["api_key"] = "set"
        return config

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
        fields = [
            "id",
            "received_at",
            "event",
            "status",
            "error",
            "headers",
            "processed_at",
            "attempts",
            "next_attempt_at",
            "authenticated",
        ]


class IntegrationUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=100)
    config = serializers.JSONField(required=False)
    is_active = serializers.BooleanField(required=False)


class DeliveryPagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


DELIVERY_FILTERS = ["accepted", "processed", "failed", "rejected"]


class ProjectLinkSerializer(StrictModelSerializer):
    ticket = serializers.SlugRelatedField(
        slug_field="key", queryset=Ticket.objects.select_related("team")
    )
    keep_manual_progress = serializers.BooleanField(required=False, default=True)
    replace = serializers.BooleanField(required=False, default=False, write_only=True)

    class Meta:
        model = LabelStudioProject
        fields = ["id", "project_id", "ticket", "keep_manual_progress", "replace", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = []


class DatasetLinkSerializer(serializers.ModelSerializer):
    ticket = serializers.SlugRelatedField(
        slug_field="key", queryset=Ticket.objects.select_related("team")
    )
    batch_size = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    keep_manual_progress = serializers.BooleanField(required=False, default=True)

    class Meta:
        model = ProdigyDataset
        fields = ["id", "dataset", "ticket", "batch_size", "keep_manual_progress", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = []


class IntegrationViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Scrum master: set up, edit, pause and delete integrations (the secret and API token
    are in the creation answer only). Team leads see their team's integrations and their
    deliveries, and re-process failed ones."""

    serializer_class = IntegrationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Integration.objects.none()
        rows = (
            Integration.objects.filter(deleted_at=None)
            .select_related("team", "service_user")
            .order_by("name")
        )
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

    @extend_schema(request=IntegrationUpdateSerializer, responses={200: IntegrationSerializer})
    def partial_update(self, request, pk=None):
        """Rename, change the configuration, pause (`is_active: false`) or resume."""
        unknown = sorted(set(request.data) - set(IntegrationUpdateSerializer().fields))
        if unknown:
            raise InvalidInput(
                f"An integration's {', '.join(unknown)} cannot be changed here; only its name, "
                "config and is_active.",
                field=unknown[0],
            )
        serializer = IntegrationUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        integration = services.integration_update(
            actor=request.user, integration=self.get_object(), changes=serializer.validated_data
        )
        return Response(self.get_serializer(integration).data)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request, pk=None):
        """Deleted integrations refuse deliveries and disappear; their deliveries stay."""
        services.integration_delete(actor=request.user, integration=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[
            OpenApiParameter("status", enum=DELIVERY_FILTERS, required=False),
            OpenApiParameter("page", int, required=False),
            OpenApiParameter("page_size", int, required=False),
        ],
        responses={200: DeliverySerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        """Newest first, paged. Without `status`, rejected requests are left out (they are
        counted in `rejected_count`; `?status=rejected` lists the kept sample)."""
        integration = self.get_object()
        if not can_view_deliveries(request.user, integration.team_id):
            raise PermissionDenied("Only the Scrum master or the team's lead may see deliveries.")
        wanted = request.query_params.get("status", "")
        if wanted and wanted not in DELIVERY_FILTERS:
            raise InvalidInput(
                f"status must be one of {', '.join(DELIVERY_FILTERS)}.", field="status"
            )
        rows = integration.deliveries.order_by("-received_at", "-id").defer("body")
        rows = rows.filter(status=wanted) if wanted else rows.exclude(status="rejected")
        paginator = DeliveryPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("delivery_id", int, OpenApiParameter.PATH)],
        responses={202: DeliverySerializer},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[0-9]+)/reprocess",
    )
    def reprocess(self, request, pk=None, delivery_id=None):
        """Process a failed delivery again, now (processing happens in the background)."""
        integration = self.get_object()
        delivery = integration.deliveries.filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFound("No such delivery.")
        delivery = services.delivery_reprocess(actor=request.user, delivery=delivery)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

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

    @extend_schema(request=DatasetLinkSerializer, responses={200: DatasetLinkSerializer(many=True)})
    @action(detail=True, methods=["get", "post"])
    def datasets(self, request, pk=None):
        """Prodigy datasets and the labeling tickets their exports feed."""
        integration = self.get_object()
        if request.method == "POST":
            serializer = DatasetLinkSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            link = services.prodigy_dataset_link(
                actor=request.user, integration=integration, **serializer.validated_data
            )
            return Response(DatasetLinkSerializer(link).data, status=status.HTTP_201_CREATED)
        rows = integration.prodigy_datasets.select_related("ticket")
        return Response(DatasetLinkSerializer(rows, many=True).data)


def register(router) -> None:
    router.register("integrations", IntegrationViewSet, basename="integration")
