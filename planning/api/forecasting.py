"""Nested under a sprint: /api/v1/sprints/{sprint_pk}/<resource>/ for capacity,
capacity changes, goals, the forecast, what-if previews and velocity. Reads are open to every
signed-in user; every write is checked by the service (accounts.policy)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from sprintplan import derived
from sprintplan.api import StrictModelSerializer, StrictSerializer
from sprintplan.errors import InvalidInput

from .. import selectors, services
from ..forecast_adapter import unknown_teams
from ..models import CapacityAdjustment, SprintGoal
from .scope import SPRINT_PREFIX, SprintScoped


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


class CapacityViewSet(SprintScoped, viewsets.ViewSet):
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
    SprintScoped,
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
    SprintScoped,
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


class ForecastViewSet(SprintScoped, viewsets.ViewSet):
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


class WhatIfViewSet(SprintScoped, viewsets.ViewSet):
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


class VelocityViewSet(SprintScoped, viewsets.ViewSet):
    """Committed vs completed size per team, this sprint and the five before it."""

    # A list action: the schema wraps this item schema in an array.
    @extend_schema(responses={200: {"type": "object"}})
    def list(self, request, sprint_pk=None):
        return Response(selectors.sprint_velocity(self.sprint()))


def register(router) -> None:
    router.register(f"{SPRINT_PREFIX}/capacity", CapacityViewSet, basename="sprint-capacity")
    router.register(f"{SPRINT_PREFIX}/adjustments", AdjustmentViewSet, basename="sprint-adjustment")
    router.register(f"{SPRINT_PREFIX}/goals", GoalViewSet, basename="sprint-goal")
    router.register(f"{SPRINT_PREFIX}/forecast", ForecastViewSet, basename="sprint-forecast")
    router.register(f"{SPRINT_PREFIX}/what-if", WhatIfViewSet, basename="sprint-what-if")
    router.register(f"{SPRINT_PREFIX}/velocity", VelocityViewSet, basename="sprint-velocity")
