"""Pre-mortem risks of a sprint, nested under it."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api import UserRefField

from .. import services
from ..models import Risk
from .scope import SPRINT_PREFIX, SprintScoped


class RiskSerializer(serializers.ModelSerializer):
    """Levels read as words ("low", "medium", "high"); the owner by username and name."""

    likelihood = serializers.ChoiceField(choices=["low", "medium", "high"], default="medium")
    impact = serializers.ChoiceField(choices=["low", "medium", "high"], default="medium")
    owner = serializers.CharField(source="owner.username", read_only=True, default=None)
    owner_name = serializers.CharField(source="owner.display_name", read_only=True, default=None)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    mitigating = serializers.SlugRelatedField(
        source="mitigating_tickets", slug_field="key", many=True, read_only=True
    )

    class Meta:
        model = Risk
        fields = [
            "id",
            "title",
            "likelihood",
            "impact",
            "state",
            "state_label",
            "owner",
            "owner_name",
            "follow_up",
            "note",
            "mitigating",
            "raised_at",
        ]
        read_only_fields = ["id", "state", "follow_up", "note", "raised_at"]

    def to_representation(self, risk):
        body = super().to_representation(risk)
        body["likelihood"] = _LEVEL_WORDS[risk.likelihood]
        body["impact"] = _LEVEL_WORDS[risk.impact]
        return body

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        for name in ("likelihood", "impact"):
            if name in values:
                values[name] = _LEVELS[values[name]]
        return values


class RiskRoamSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=Risk.State.choices)
    owner = UserRefField(required=False, allow_null=True)
    follow_up = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True)
    mitigating = serializers.ListField(child=serializers.CharField(), required=False)


_LEVELS = {"low": 1, "medium": 2, "high": 3}
_LEVEL_WORDS = {number: word for word, number in _LEVELS.items()}


class RiskViewSet(SprintScoped, viewsets.ModelViewSet):
    """`/sprints/{id}/risks/`: list, raise (POST), reword (PATCH title/likelihood/impact),
    delete; `POST .../risks/{id}/roam/` records how it is handled. Writes: the Scrum master,
    the PO or a team lead."""

    serializer_class = RiskSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no sprint
            return Risk.objects.none()
        return (
            Risk.objects.filter(sprint_id=self.kwargs["sprint_pk"])
            .select_related("owner")
            .prefetch_related("mitigating_tickets")
        )

    def perform_create(self, serializer):
        serializer.instance = services.risk_raise(
            actor=self.request.user, sprint=self.sprint(), **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.risk_edit(
            actor=self.request.user, risk=serializer.instance, changes=serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.risk_delete(actor=self.request.user, risk=instance)

    @extend_schema(request=RiskRoamSerializer, responses={200: RiskSerializer})
    @action(detail=True, methods=["post"])
    def roam(self, request, sprint_pk=None, pk=None):
        risk = self.get_object()
        data = RiskRoamSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        services.risk_roam(
            actor=request.user,
            risk=risk,
            state=values["state"],
            owner=values.get("owner"),
            follow_up=values.get("follow_up"),
            note=values.get("note", ""),
            mitigating_keys=values.get("mitigating", ()),
        )
        return Response(RiskSerializer(self.get_queryset().get(pk=risk.pk)).data)


def register(router) -> None:
    router.register(f"{SPRINT_PREFIX}/risks", RiskViewSet, basename="sprint-risk")
