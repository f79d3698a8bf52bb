"""Endpoints: the inbox (list, mark read), one's preferences, webhook subscriptions (create
with the secret shown once, test, list deliveries) and the delivery log with retries.
Writes go through the services."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.policy import ensure_can_manage_chat_webhooks, ensure_can_read_delivery_log
from sprintplan.errors import InvalidInput
from sprints.models import Sprint
from teams.models import Team
from tickets.models import Ticket

from . import selectors, services
from .models import Channel, Delivery, Notification, WebhookSubscription


class NotificationSerializer(serializers.ModelSerializer):
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "event_type", "title", "body", "url", "sprint", "created_at", "read"]

    def get_read(self, notification) -> bool:
        return notification.read_at is not None


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="Notifications marked read by this call.")
    unread = serializers.IntegerField(help_text="Unread notifications left.")


class InboxViewSet(viewsets.GenericViewSet, mixins.ListModelMixin):
    """The caller's own notifications, newest first."""

    serializer_class = NotificationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        rows = Notification.objects.filter(recipient=self.request.user)
        if self.request.query_params.get("unread") in ("1", "true"):
            rows = rows.filter(read_at__isnull=True)
        return rows.order_by("-created_at", "-id")

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        data = response.data if isinstance(response.data, dict) else {"results": response.data}
        response.data = {"unread": selectors.unread_count(request.user), **data}
        return response

    @extend_schema(request=None, responses=MarkedSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        changed = services.notification_mark_read(actor=request.user, notification_ids=[pk])
        return Response({"marked": changed, "unread": selectors.unread_count(request.user)})

    @extend_schema(request=None, responses=MarkedSerializer)
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        changed = services.notification_mark_read(actor=request.user)
        return Response({"marked": changed, "unread": 0})


class PreferenceSerializer(serializers.Serializer):
    channels = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Per event the channels, e.g. {"blocked": ["inbox", "email"]}.',
    )
    mode = serializers.ChoiceField(choices=["immediate", "daily"])


class WatchSerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="A ticket key, e.g. LAB-1.")
    watching = serializers.BooleanField(default=True)


class PreferenceView(APIView):
    """GET: the caller's effective preferences. PUT: replace them."""

    serializer_class = PreferenceSerializer

    @extend_schema(responses=PreferenceSerializer)
    def get(self, request):
        return Response(services.preference_of(request.user))

    @extend_schema(request=PreferenceSerializer, responses=PreferenceSerializer)
    def put(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        services.preference_update(
            actor=request.user,
            user=request.user,
            channels=data.get("channels", {}),
            mode=data.get("mode", "immediate"),
        )
        return Response(services.preference_of(request.user))


class WatchView(APIView):
    """PUT {"ticket": "LAB-1", "watching": true}: hear when that ticket is blocked or freed."""

    serializer_class = WatchSerializer

    @extend_schema(request=WatchSerializer, responses=WatchSerializer)
    def put(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        ticket = Ticket.objects.filter(key=str(data.get("ticket", ""))).first()
        if ticket is None:
            raise InvalidInput("No ticket with that key.", field="ticket")
        watching = data.get("watching", True)
        if not isinstance(watching, bool):
            raise InvalidInput("watching is true or false.", field="watching")
        services.ticket_watch_set(actor=request.user, ticket=ticket, watching=watching)
        return Response({"ticket": ticket.key, "watching": watching})


class WebhookSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(
        slug_field="key_prefix", queryset=Team.objects.all(), required=False, allow_null=True
    )
    sprint = serializers.PrimaryKeyRelatedField(
        queryset=Sprint.objects.all(), required=False, allow_null=True
    )
    # Checked by the service (one set of rules and messages for pages and API).
    format = serializers.CharField(max_length=20)
    url = serializers.CharField(max_length=600)
    events = serializers.JSONField(required=False)

    class Meta:
        model = WebhookSubscription
        fields = ["id", "name", "format", "url", "team", "sprint", "events", "created_at"]
        read_only_fields = ["id", "created_at"]


class NotificationDeliverySerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "channel",
            "target",
            "event_type",
            "title",
            "status",
            "status_label",
            "attempts",
            "last_error",
            "created_at",
            "sent_at",
        ]


class WebhookViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = WebhookSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookSubscription.objects.none()
        ensure_can_manage_chat_webhooks(self.request.user)
        return selectors.webhooks()

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        hook = services.webhook_create(actor=request.user, **serializer.validated_data)
        body = WebhookSerializer(hook).data
        # The only time the secret is shown: the receiver needs it to check signatures.
        body["secret"] = hook.secret
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.webhook_delete(actor=self.request.user, subscription=instance)

    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        delivery = services.webhook_test(actor=request.user, subscription=self.get_object())
        delivery.refresh_from_db()
        return Response(
            NotificationDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED
        )

    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        rows = selectors.webhook_deliveries(self.get_object())
        return Response(NotificationDeliverySerializer(rows, many=True).data)


class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """The delivery log (Scrum master): every message, its attempts and failures."""

    serializer_class = NotificationDeliverySerializer
    filterset_fields = ["status", "channel", "event_type"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Delivery.objects.none()
        ensure_can_read_delivery_log(self.request.user)
        return Delivery.objects.order_by("-created_at", "-id")

    def list(self, request, *args, **kwargs):
        # An empty or unknown choice is refused, not read as "no filter".
        for name, choices in (
            ("status", Delivery.Status.values),
            ("channel", Channel.values),
        ):
            value = request.query_params.get(name)
            if value is not None and value not in choices:
                raise InvalidInput(
                    f"{name}: use one of {', '.join(choices)}.", field=name, code="invalid"
                )
        return super().list(request, *args, **kwargs)

    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        delivery = self.get_object()
        services.delivery_retry(actor=request.user, delivery=delivery)
        delivery.refresh_from_db()
        return Response(
            NotificationDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED
        )


def register(router) -> None:
    router.register("notifications/inbox", InboxViewSet, basename="notification")
    router.register("notifications/webhooks", WebhookViewSet, basename="notification-webhook")
    router.register("notifications/deliveries", DeliveryViewSet, basename="notification-delivery")
