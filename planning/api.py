from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api import UserRefField
from sprintplan import derived
from sprintplan.api import StrictModelSerializer, StrictSerializer
from sprintplan.errors import InvalidInput
from sprints.models import Sprint
from teams.api import TeamRefField

from . import selectors, services
from .forecast_adapter import unknown_teams
from .models import CapacityAdjustment, Risk, SprintCommitment, SprintGoal

# The sprint goal is free text on the model; its limit is kept here and in the page's form.
SPRINT_GOAL_MAX_LENGTH = 2000


class SprintSerializer(StrictModelSerializer):
    teams = TeamRefField(
        many=True,
        required=False,
        help_text='Participating teams by key prefix, e.g. ["LAB", "ML"]; none: every team.',
    )

    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Grows with every change. On PATCH, optional: the version you edited; a "
        "sprint changed meanwhile is then refused with 409 and the current sprint.",
    )

    class Meta:
        model = Sprint
        fields = ["id", "name", "start_date", "end_date", "state", "goal", "teams", "version"]
        read_only_fields = ["id"]
        extra_kwargs = {"goal": {"max_length": SPRINT_GOAL_MAX_LENGTH}}

    def validate(self, attrs):
        start = attrs.get("start_date", getattr(self.instance, "start_date", None))
        end = attrs.get("end_date", getattr(self.instance, "end_date", None))
        if start and end and start > end:
            raise serializers.ValidationError(
                {"end_date": f"The sprint cannot end ({end}) before it starts ({start})."}
            )
        return attrs


class SprintCreateSerializer(SprintSerializer):
    """A new sprint starts in planning; its state changes by commit or PATCH."""

    version = serializers.IntegerField(read_only=True)

    class Meta(SprintSerializer.Meta):
        read_only_fields = ["id", "state"]


class SprintCommitmentSerializer(StrictModelSerializer):
    sprint = serializers.CharField(source="sprint.name")
    committed_by = serializers.CharField(source="committed_by.username", default=None)
    definition_of_done_version = serializers.IntegerField(
        source="definition_of_done.version", default=None
    )

    class Meta:
        model = SprintCommitment
        fields = [
            "sprint",
            "committed_by",
            "committed_at",
            "scope",
            "capacity",
            "definition_of_done_version",
        ]


class SprintGraphSerializer(StrictSerializer):
    """Nodes, links with their SAFe health colour, and the critical path of a sprint."""

    nodes = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()
    critical_path = serializers.SerializerMethodField()
    critical_path_days = serializers.FloatField(source="critical.length_days")

    def get_nodes(self, sprint_graph) -> list[dict]:
        critical = sprint_graph.critical_ids
        slack = sprint_graph.critical.slack_days
        return [
            {
                "key": t.key,
                "title": t.title,
                "team": t.team_name,
                "status": t.status,
                "in_sprint": t.in_sprint,
                "sprint": t.sprint_name or None,
                "remaining": t.remaining,
                "remaining_days": round(t.node.remaining_days, 3),
                "critical": t.id in critical,
                "slack_days": slack.get(t.id),
            }
            for t in sorted(sprint_graph.tickets.values(), key=lambda t: t.key)
        ]

    def get_links(self, sprint_graph) -> list[dict]:
        return [
            {
                "blocker": link.blocker.key,
                "blocked": link.blocked.key,
                "health": link.health,
                "problem": link.problem or None,
            }
            for link in sprint_graph.links
        ]

    def get_critical_path(self, sprint_graph) -> list[str]:
        return [sprint_graph.tickets[i].key for i in sprint_graph.critical.path]


class SprintCloseSerializer(serializers.Serializer):
    carry_to = serializers.PrimaryKeyRelatedField(
        queryset=Sprint.objects.all(), required=False, allow_null=True
    )


class SprintCloseResultSerializer(serializers.Serializer):
    sprint = SprintSerializer()
    moved = serializers.ListField(child=serializers.CharField())


class SprintViewSet(
    mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    serializer_class = SprintSerializer
    queryset = Sprint.objects.prefetch_related("teams").order_by("start_date", "id")
    filterset_fields = ["state"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self):
        return SprintCreateSerializer if self.action == "create" else SprintSerializer

    def perform_create(self, serializer):
        serializer.instance = services.sprint_create(
            actor=self.request.user, **serializer.validated_data
        )

    @extend_schema(request=None, responses={201: SprintCommitmentSerializer})
    @action(detail=True, methods=["post"])
    def commit(self, request, pk=None):
        """End planning: snapshot scope, capacity and the Definition of Done version in force,
        and make the sprint active. 409 unless the sprint is in planning; 400 if empty."""
        commitment = services.sprint_commit(actor=request.user, sprint=self.get_object())
        return Response(SprintCommitmentSerializer(commitment).data, status=201)

    @extend_schema(responses={200: SprintGraphSerializer})
    @action(detail=True, methods=["get"])
    def graph(self, request, pk=None):
        """The sprint's dependency graph: link health (red: blocker planned later or not
        at all; orange: same sprint; green: earlier or done) and the critical path."""
        return Response(SprintGraphSerializer(selectors.sprint_graph(self.get_object())).data)

    def perform_update(self, serializer):
        changes = dict(serializer.validated_data)
        expected = changes.pop("version", None)
        serializer.instance = services.sprint_update(
            actor=self.request.user,
            sprint=serializer.instance,
            changes=changes,
            expected_version=expected,
        )

    def stale_current(self, current) -> dict:
        """A stale edit's 409 carries the sprint as it is now (the API's exception handler)."""
        return SprintSerializer(Sprint.objects.prefetch_related("teams").get(pk=current.pk)).data

    # --- closing a sprint -------------------------------------------------------------------

    @extend_schema(request=SprintCloseSerializer, responses={200: SprintCloseResultSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Scrum master: close an active sprint. Unfinished tickets move to `carry_to` (the id
        of an open sprint sharing a team) or, when it is null, back to the backlog."""
        sprint = self.get_object()
        data = SprintCloseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        moved = services.sprint_close(
            actor=request.user, sprint=sprint, carry_to=data.validated_data.get("carry_to")
        )
        sprint.refresh_from_db()
        return Response({"sprint": SprintSerializer(sprint).data, "moved": moved})


def register(router) -> None:
    router.register("sprints", SprintViewSet, basename="sprint")
    _register_forecasting(router)  # nested under sprints/{id}/
    router.register(f"{SPRINT_PREFIX}/risks", RiskViewSet, basename="sprint-risk")


# --- capacity, adjustments, goals, forecast, what-if --------------------------------------
# Nested under a sprint: /api/v1/sprints/{sprint_pk}/<resource>/. Reads are open to every
# signed-in user; every write is checked by the service (accounts.policy).

SPRINT_PREFIX = r"sprints/(?P<sprint_pk>[0-9]+)"


class _SprintScoped:
    def sprint(self) -> Sprint:
        return get_object_or_404(Sprint, pk=self.kwargs["sprint_pk"])


class MemberCapacitySerializer(StrictSerializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    part_time_percent = serializers.IntegerField()
    days_off = serializers.ListField(child=serializers.DateField())
    available_person_days = serializers.FloatField()


class TeamCapacitySerializer(StrictSerializer):
    team = serializers.CharField(source="team_key")
    team_name = serializers.CharField()
    unit = serializers.CharField()
    rate = serializers.FloatField()
    focus_factor = serializers.FloatField()
    working_days = serializers.IntegerField()
    members = MemberCapacitySerializer(many=True)
    available_person_days = serializers.FloatField()
    capacity = serializers.FloatField()
    committed = serializers.FloatField()
    over_committed = serializers.BooleanField()
    load_percent = serializers.IntegerField(allow_null=True)


class AvailabilityInputSerializer(StrictSerializer):
    user = serializers.CharField(help_text="Username (or user id) of a member of the team.")
    days_off = serializers.ListField(child=serializers.DateField(), required=False, default=list)
    part_time_percent = serializers.IntegerField(required=False, default=100)


class CapacityInputSerializer(StrictSerializer):
    focus_factor = serializers.DecimalField(max_digits=6, decimal_places=3, required=False)
    availability = AvailabilityInputSerializer(many=True, required=False)


class CapacityViewSet(_SprintScoped, viewsets.ViewSet):
    """Each team's capacity in the sprint (team's unit) against its committed size. The
    detail route takes the team's key prefix, e.g. /sprints/3/capacity/LAB/. PATCH sets the
    focus factor and named members' availability (rows replace that member's row)."""

    lookup_value_regex = "[^/]+"

    @extend_schema(responses={200: TeamCapacitySerializer(many=True)})
    def list(self, request, sprint_pk=None):
        summaries = selectors.sprint_capacity(self.sprint())
        return Response(TeamCapacitySerializer(summaries, many=True).data)

    @extend_schema(responses={200: TeamCapacitySerializer})
    def retrieve(self, request, sprint_pk=None, pk=None):
        sprint, team = self.sprint(), selectors.resolve_team(pk)
        return Response(
            TeamCapacitySerializer(selectors.sprint_capacity(sprint, [team.pk])[0]).data
        )

    @extend_schema(request=CapacityInputSerializer, responses={200: TeamCapacitySerializer})
    def partial_update(self, request, sprint_pk=None, pk=None):
        sprint, team = self.sprint(), selectors.resolve_team(pk)
        body = CapacityInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.capacity_update(
            actor=request.user,
            sprint=sprint,
            team=team,
            focus_factor=body.validated_data.get("focus_factor"),
            availability=body.validated_data.get("availability"),
        )
        return Response(
            TeamCapacitySerializer(selectors.sprint_capacity(sprint, [team.pk])[0]).data
        )


class AdjustmentSerializer(StrictModelSerializer):
    team = serializers.CharField(help_text="Team key prefix, e.g. LAB.")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    factor = serializers.DecimalField(max_digits=9, decimal_places=3, coerce_to_string=False)

    class Meta:
        model = CapacityAdjustment
        fields = ["id", "team", "from_date", "to_date", "factor", "reason", "created_by"]
        read_only_fields = ["id", "created_by"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["team"] = instance.team.key_prefix
        return data


class AdjustmentViewSet(
    _SprintScoped,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Capacity adjustments, e.g. LAB x 0.5 from Tuesday: "annotation tool bug". Dates are
    inclusive and must lie in the sprint; factor >= 0. Lead of the team or Scrum master."""

    serializer_class = AdjustmentSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no sprint
            return CapacityAdjustment.objects.none()
        return selectors.sprint_adjustments(self.sprint())

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.adjustment_create(
            actor=self.request.user,
            sprint=self.sprint(),
            team=selectors.resolve_team(data["team"]),
            from_date=data["from_date"],
            to_date=data["to_date"],
            factor=data["factor"],
            reason=data["reason"],
        )

    def perform_destroy(self, instance):
        services.adjustment_delete(actor=self.request.user, adjustment=instance)


class GoalSerializer(StrictModelSerializer):
    tickets = serializers.SerializerMethodField()
    ticket_keys = serializers.ListField(
        child=serializers.CharField(), write_only=True, required=False, default=list
    )

    class Meta:
        model = SprintGoal
        fields = ["id", "text", "order", "tickets", "ticket_keys"]
        read_only_fields = ["id"]
        extra_kwargs = {"order": {"required": False}}

    def get_tickets(self, goal) -> list[str]:
        return sorted(ticket.key for ticket in goal.tickets.all())


class GoalViewSet(
    _SprintScoped,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Sprint goals: a goal is met when all its tickets are done by the sprint's end.
    Scrum master or Product Owner. Without goals the forecast uses all sprint tickets."""

    serializer_class = GoalSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no sprint
            return SprintGoal.objects.none()
        return selectors.sprint_goals(self.sprint())

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.goal_create(
            actor=self.request.user,
            sprint=self.sprint(),
            text=data["text"],
            ticket_keys=data.get("ticket_keys", []),
            order=data.get("order"),
        )

    def perform_update(self, serializer):
        changes = dict(serializer.validated_data)
        if "ticket_keys" not in self.request.data:
            changes.pop("ticket_keys", None)  # the default, not a request to empty the goal
        serializer.instance = services.goal_update(
            actor=self.request.user, goal=serializer.instance, changes=changes
        )

    def perform_destroy(self, instance):
        services.goal_delete(actor=self.request.user, goal=instance)


class ForecastViewSet(_SprintScoped, viewsets.ViewSet):
    """The latest stored forecast: per ticket P50/P85/P95 finish dates and P(done by the
    sprint's end), per team P(all done) and history confidence, per goal P(met) and the
    bottleneck. {"status": "pending"} until the first run is stored; "updating" says a
    newer run is on its way."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def list(self, request, sprint_pk=None):
        sprint = self.sprint()
        run = selectors.latest_forecast(sprint)
        updating = derived.pending(services.SPRINT_FORECAST, sprint.pk)
        if run is None:
            return Response({"status": "pending", "updating": updating})
        return Response(
            {
                **run.result,
                "inputs_version": run.inputs_version,
                "computed_at": run.computed_at,
                "duration_ms": round(run.duration_ms, 1),
                "updating": updating,
            }
        )


class MoveCapacitySerializer(StrictSerializer):
    from_team = serializers.CharField()
    to_team = serializers.CharField()
    person_days = serializers.FloatField()


class WhatIfAdjustmentSerializer(StrictSerializer):
    team = serializers.CharField()
    factor = serializers.FloatField()
    extra_input_names = frozenset({"from", "to", "from_date", "to_date"})

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        for name in ("from", "to"):
            value = data.get(name, data.get(f"{name}_date")) if isinstance(data, dict) else None
            if value is None:
                raise serializers.ValidationError({name: "This field is required."})
            values[name] = value
        return values


class WhatIfSerializer(StrictSerializer):
    add_tickets = serializers.ListField(child=serializers.CharField(), required=False)
    remove_tickets = serializers.ListField(child=serializers.CharField(), required=False)
    change_size = serializers.DictField(child=serializers.FloatField(), required=False)
    move_capacity = MoveCapacitySerializer(many=True, required=False)
    add_adjustments = WhatIfAdjustmentSerializer(many=True, required=False)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": "Send a JSON object."})
        unknown = sorted(set(data) - set(self.fields) - {"add_adjustment"})
        if unknown:
            raise serializers.ValidationError({unknown[0]: "Unknown proposal field."})
        data = dict(data)
        if "add_adjustment" in data:  # one adjustment, as the issue spells it
            data["add_adjustments"] = [*data.get("add_adjustments", []), data["add_adjustment"]]
            del data["add_adjustment"]
        if isinstance(data.get("move_capacity"), dict):
            data["move_capacity"] = [data["move_capacity"]]
        if isinstance(data.get("add_adjustments"), dict):
            data["add_adjustments"] = [data["add_adjustments"]]
        return super().to_internal_value(data)


class WhatIfViewSet(_SprintScoped, viewsets.ViewSet):
    """Preview a scope or capacity change: the forecast with it, the current forecast and
    the delta. Saves nothing. Body: add_tickets / remove_tickets (keys), change_size
    {key: size}, move_capacity {from_team, to_team, person_days} (or a list),
    add_adjustment {team, from, to, factor} (or add_adjustments, a list)."""

    @extend_schema(request=WhatIfSerializer, responses={200: OpenApiTypes.OBJECT})
    def create(self, request, sprint_pk=None):
        sprint = self.sprint()
        body = WhatIfSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        teams = _teams_by_ref(
            [m[side] for m in data.get("move_capacity", []) for side in ("from_team", "to_team")]
            + [a["team"] for a in data.get("add_adjustments", [])]
        )
        preview = services.forecast_what_if(
            sprint=sprint,
            add_tickets=data.get("add_tickets", []),
            remove_tickets=data.get("remove_tickets", []),
            change_size=data.get("change_size", {}),
            move_capacity=[
                (teams[m["from_team"]], teams[m["to_team"]], m["person_days"])
                for m in data.get("move_capacity", [])
            ],
            add_adjustments=[
                (teams[a["team"]], a["from"], a["to"], a["factor"])
                for a in data.get("add_adjustments", [])
            ],
        )
        return Response(preview)


def _teams_by_ref(refs: list[str]) -> dict:
    """Resolve every team named in a proposal; all unknown ones are named in one 400."""
    teams, unknown = {}, []
    for ref in dict.fromkeys(refs):
        try:
            teams[ref] = selectors.resolve_team(ref)
        except InvalidInput:
            unknown.append(ref)
    if unknown:
        raise unknown_teams(unknown, "team")
    return teams


class VelocityViewSet(_SprintScoped, viewsets.ViewSet):
    """Committed vs completed size per team, this sprint and the five before it."""

    # A list action: the schema wraps this item schema in an array.
    @extend_schema(responses={200: {"type": "object"}})
    def list(self, request, sprint_pk=None):
        return Response(selectors.sprint_velocity(self.sprint()))


def _register_forecasting(router) -> None:
    router.register(f"{SPRINT_PREFIX}/capacity", CapacityViewSet, basename="sprint-capacity")
    router.register(f"{SPRINT_PREFIX}/adjustments", AdjustmentViewSet, basename="sprint-adjustment")
    router.register(f"{SPRINT_PREFIX}/goals", GoalViewSet, basename="sprint-goal")
    router.register(f"{SPRINT_PREFIX}/forecast", ForecastViewSet, basename="sprint-forecast")
    router.register(f"{SPRINT_PREFIX}/what-if", WhatIfViewSet, basename="sprint-what-if")
    router.register(f"{SPRINT_PREFIX}/velocity", VelocityViewSet, basename="sprint-velocity")


# --- pre-mortem risks ---------------------------------------------------------------------------


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


class RiskViewSet(_SprintScoped, viewsets.ModelViewSet):
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
