"""/api/v1/ endpoints for the Definition of Done, evidence, artifacts and gate status."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from sprintplan.api import StrictModelSerializer, StrictSerializer
from sprintplan.errors import InvalidInput
from sprintplan.limits import NOTE_MAX
from sprints.models import Sprint
from tickets.models import Ticket

from . import selectors, services
from .models import Artifact, Criterion, DefinitionOfDone, Evidence


class CriterionSerializer(StrictModelSerializer):
    team_prefix = serializers.CharField(source="team.key_prefix", read_only=True)
    ticket = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = Criterion
        fields = [
            "id",
            "code",
            "text",
            "kind",
            "team",
            "team_prefix",
            "ticket",
            "metric_key",
            "comparator",
            "threshold",
            "ticket_types",
            "team_kinds",
            "goal_level",
            "entry_gate",
            "required_artifacts",
        ]


class DefinitionSerializer(StrictModelSerializer):
    criteria = CriterionSerializer(many=True, read_only=True)
    in_force = serializers.SerializerMethodField()

    class Meta:
        model = DefinitionOfDone
        fields = [
            "id",
            "version",
            "note",
            "created_by",
            "created_at",
            "accepted_by",
            "accepted_at",
            "in_force",
            "criteria",
        ]

    def get_in_force(self, definition) -> bool:
        return definition.pk == self.context.get("in_force_id")


class DefinitionInputSerializer(StrictSerializer):
    note = serializers.CharField(max_length=NOTE_MAX, required=False, allow_blank=True, default="")
    criteria = serializers.ListField(child=serializers.DictField(), allow_empty=False)


class DefinitionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The shared Definition of Done. POST writes the next version with a full list of
    criteria (Scrum master); `accept` is the Product Owner's."""

    serializer_class = DefinitionSerializer
    queryset = DefinitionOfDone.objects.prefetch_related("criteria__team").order_by("-version")

    def get_serializer_context(self):
        current = selectors.definition_in_force()
        return {**super().get_serializer_context(), "in_force_id": current.pk if current else None}

    @extend_schema(request=DefinitionInputSerializer, responses={201: DefinitionSerializer})
    def create(self, request, *args, **kwargs):
        data = _valid(DefinitionInputSerializer, request.data)
        definition = services.definition_revise(
            actor=request.user, criteria=data["criteria"], note=data["note"]
        )
        body = self.get_serializer(self.get_queryset().get(pk=definition.pk)).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: DefinitionSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        definition = services.definition_accept(actor=request.user, definition=self.get_object())
        return Response(self.get_serializer(definition).data)

    @extend_schema(responses={200: DefinitionSerializer})
    @action(detail=False, methods=["get"])
    def current(self, request):
        current = selectors.definition_in_force()
        if current is None:
            return Response({"code": "not_found", "detail": "No Definition of Done yet."}, 404)
        return Response(self.get_serializer(self.get_queryset().get(pk=current.pk)).data)


class AcceptanceCriterionInputSerializer(StrictSerializer):
    ticket = serializers.SlugRelatedField(slug_field="key", queryset=Ticket.objects.all())
    code = serializers.CharField(required=False, allow_blank=True)
    text = serializers.CharField()
    kind = serializers.CharField()
    metric_key = serializers.CharField(required=False, allow_blank=True)
    comparator = serializers.CharField(required=False, allow_blank=True)
    threshold = serializers.CharField(required=False, allow_null=True)
    entry_gate = serializers.BooleanField(required=False, default=False)
    required_artifacts = serializers.ListField(child=serializers.CharField(), required=False)


class AcceptanceCriterionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """A ticket's own acceptance criteria (same form as DoD criteria)."""

    serializer_class = CriterionSerializer
    queryset = Criterion.objects.filter(ticket__isnull=False).select_related("team", "ticket")
    filterset_fields = {"ticket__key": ["exact"]}

    @extend_schema(request=AcceptanceCriterionInputSerializer, responses={201: CriterionSerializer})
    def create(self, request, *args, **kwargs):
        data = _valid(AcceptanceCriterionInputSerializer, request.data)
        ticket = data.pop("ticket")
        criterion = services.acceptance_criterion_add(actor=request.user, ticket=ticket, **data)
        return Response(self.get_serializer(criterion).data, status=status.HTTP_201_CREATED)


class EvidenceSerializer(StrictModelSerializer):
    ticket = serializers.SlugRelatedField(slug_field="key", read_only=True)
    criterion_code = serializers.CharField(source="criterion.code", read_only=True)

    class Meta:
        model = Evidence
        fields = [
            "id",
            "criterion",
            "criterion_code",
            "ticket",
            "sprint",
            "value",
            "passed",
            "source",
            "recorded_by_name",
            "recorded_at",
            "source_url",
            "details",
        ]


class EvidenceInputSerializer(StrictSerializer):
    criterion = serializers.PrimaryKeyRelatedField(
        queryset=Criterion.objects.select_related("team", "ticket"), required=False
    )
    metric = serializers.CharField(required=False, help_text="A metric key instead of a criterion")
    ticket = serializers.SlugRelatedField(
        slug_field="key", queryset=Ticket.objects.select_related("team"), required=False
    )
    sprint = serializers.PrimaryKeyRelatedField(queryset=Sprint.objects.all(), required=False)
    value = serializers.JSONField(required=False)
    passed = serializers.BooleanField(required=False, allow_null=True, default=None)
    source_url = serializers.URLField(required=False, allow_blank=True, default="")
    details = serializers.JSONField(required=False, default=dict)

    def validate(self, attrs):
        if ("criterion" in attrs) == ("metric" in attrs):
            raise serializers.ValidationError({"criterion": "Give either criterion or metric."})
        if "metric" in attrs and "ticket" not in attrs:
            raise serializers.ValidationError({"ticket": "A metric is recorded for a ticket."})
        return attrs


class EvidenceViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Append-only evidence. POST either {criterion, ticket|sprint, value|passed} or
    {metric, ticket, value} (every metric criterion in force with that key). People record
    with source "manual"; integration tokens with source "api"."""

    serializer_class = EvidenceSerializer
    queryset = Evidence.objects.select_related("criterion", "ticket").order_by(
        "-recorded_at", "-id"
    )
    filterset_fields = {"ticket__key": ["exact"], "sprint": ["exact"], "criterion": ["exact"]}

    @extend_schema(request=EvidenceInputSerializer, responses={201: EvidenceSerializer(many=True)})
    def create(self, request, *args, **kwargs):
        data = _valid(EvidenceInputSerializer, request.data)
        integration = getattr(request.user, "integration", None)
        common = {
            "actor": request.user,
            "source": Evidence.Source.API if integration else Evidence.Source.MANUAL,
            "recorded_by_name": integration.name if integration else "",
            "source_url": data["source_url"],
            "details": data["details"],
        }
        if "metric" in data:
            rows = services.metric_evidence_record(
                ticket=data["ticket"], metric_key=data["metric"], value=data.get("value"), **common
            )
        else:
            rows = [
                services.evidence_record(
                    criterion=data["criterion"],
                    ticket=data.get("ticket"),
                    sprint=data.get("sprint"),
                    value=data.get("value"),
                    passed=data["passed"],
                    **common,
                )
            ]
        return Response(self.get_serializer(rows, many=True).data, status=status.HTTP_201_CREATED)


class ArtifactSerializer(StrictModelSerializer):
    ticket = serializers.SlugRelatedField(
        slug_field="key", queryset=Ticket.objects.select_related("team")
    )
    # The blocker that handed a consumed artifact over across the dependency link.
    handed_over_by = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = Artifact
        fields = [
            "id",
            "ticket",
            "kind",
            "direction",
            "name",
            "version",
            "revision",
            "run_id",
            "checksum",
            "uri",
            "handed_over_by",
            "details",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = ["id", "handed_over_by", "details", "recorded_by", "recorded_at"]
        extra_kwargs = {"direction": {"required": False}}
        validators = []  # duplicates return the recorded artifact (the service decides)


class ArtifactViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Immutable handoff references a ticket produced or consumed (no update, no delete)."""

    serializer_class = ArtifactSerializer
    queryset = Artifact.objects.select_related("ticket", "handed_over_by").order_by("id")
    filterset_fields = {"ticket__key": ["exact"], "kind": ["exact"]}

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.artifact_record(
            actor=self.request.user,
            ticket=data.pop("ticket"),
            kind=data.pop("kind"),
            direction=data.pop("direction", "produced"),
            **data,
        )


class VerdictSerializer(StrictSerializer):
    criterion = serializers.CharField(source="criterion.text")
    team = serializers.CharField(source="criterion.team_name")
    kind = serializers.CharField(source="criterion.kind")
    status = serializers.CharField()
    sentence = serializers.CharField()


@extend_schema_serializer(many=False)  # one answer, although served by a list route
class GateStatusSerializer(serializers.Serializer):
    """A ticket's gates (ticket, done_gate_failures, entry_gate_failures) or a sprint goal's
    (sprint, goal_failures), with the verdict of every criterion."""

    ticket = serializers.CharField(required=False)
    sprint = serializers.IntegerField(required=False)
    done_gate_failures = serializers.ListField(child=serializers.CharField(), required=False)
    entry_gate_failures = serializers.ListField(child=serializers.CharField(), required=False)
    goal_failures = serializers.ListField(child=serializers.CharField(), required=False)
    verdicts = VerdictSerializer(many=True)


class GateStatusViewSet(viewsets.ViewSet):
    """Done / entry gate of one ticket (?ticket=KEY), or a sprint goal's DoD (?sprint=ID)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("ticket", str, required=False),
            OpenApiParameter("sprint", int, required=False),
        ],
        responses={200: GateStatusSerializer},
    )
    def list(self, request):
        key, sprint_id = request.query_params.get("ticket"), request.query_params.get("sprint")
        if key:
            # A NUL cannot be in a key (and PostgreSQL cannot even compare it).
            ticket = (
                None
                if "\x00" in key
                else Ticket.objects.select_related("team").filter(key=key).first()
            )
            if ticket is None:
                raise InvalidInput(f"Unknown ticket {key!r}.", field="ticket")
            verdicts = selectors.ticket_verdicts(ticket)
            body = {
                "ticket": ticket.key,
                "done_gate_failures": services.done_gate_failures(ticket),
                "entry_gate_failures": services.entry_gate_failures(ticket),
            }
        elif sprint_id and sprint_id.isdigit() and Sprint.objects.filter(pk=sprint_id).exists():
            sprint = Sprint.objects.get(pk=sprint_id)
            verdicts = selectors.goal_verdicts(sprint)
            body = {"sprint": sprint.pk, "goal_failures": services.goal_dod_failures(sprint)}
        else:
            raise InvalidInput("Give ?ticket=KEY or ?sprint=<existing sprint id>.", field="ticket")
        body["verdicts"] = VerdictSerializer(verdicts, many=True).data
        return Response(body)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def register(router) -> None:
    router.register("definitions-of-done", DefinitionViewSet, basename="definition-of-done")
    router.register(
        "acceptance-criteria", AcceptanceCriterionViewSet, basename="acceptance-criterion"
    )
    router.register("evidence", EvidenceViewSet, basename="evidence")
    router.register("artifacts", ArtifactViewSet, basename="artifact")
    router.register("gate-status", GateStatusViewSet, basename="gate-status")
