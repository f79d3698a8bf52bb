"""Program API, board area: programs, planning intervals (PIs) with their iterations, the
PI's board and forecast, milestones and features. Reads are open to every signed-in user;
every write goes through programs.services.board, which checks the role (403), validates
ids against the PI (400 naming the field) and versions (409)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from sprintplan import probability
from sprintplan.api import StrictModelSerializer, StrictSerializer
from sprintplan.errors import InvalidInput
from sprintplan.limits import DESCRIPTION_MAX

from ..models import Feature, Milestone, PlanningInterval, Program
from ..selectors import board as selectors
from ..services import board as services

# --- read shapes -----------------------------------------------------------------------------


class TeamRefSerializer(StrictSerializer):
    id = serializers.IntegerField()
    key = serializers.CharField(source="key_prefix")
    name = serializers.CharField()


class IterationSerializer(StrictSerializer):
    number = serializers.IntegerField()
    sprint_id = serializers.IntegerField()
    sprint = serializers.CharField(source="sprint.name")
    start_date = serializers.DateField(source="sprint.start_date")
    end_date = serializers.DateField(source="sprint.end_date")


class PISerializer(StrictModelSerializer):
    iterations = IterationSerializer(many=True, read_only=True)

    class Meta:
        model = PlanningInterval
        fields = ["id", "program", "name", "start_date", "end_date", "state", "iterations"]


class PIBriefSerializer(StrictModelSerializer):
    class Meta:
        model = PlanningInterval
        fields = ["id", "name", "start_date", "end_date", "state"]


class ProgramSerializer(StrictModelSerializer):
    teams = TeamRefSerializer(many=True, read_only=True)
    intervals = PIBriefSerializer(many=True, read_only=True)

    class Meta:
        model = Program
        fields = ["id", "name", "description", "teams", "intervals"]


class MilestoneSerializer(StrictModelSerializer):
    class Meta:
        model = Milestone
        fields = ["id", "pi", "name", "date", "kind", "hard"]
        read_only_fields = ["id"]


class FeatureSerializer(StrictModelSerializer):
    ticket_keys = serializers.SerializerMethodField()

    class Meta:
        model = Feature
        fields = [
            "id",
            "pi",
            "team",
            "title",
            "description",
            "planned_sprint",
            "milestone",
            "rank",
            "version",
            "ticket_keys",
        ]

    def get_ticket_keys(self, feature) -> list[str]:
        return sorted(link.ticket.key for link in feature.ticket_links.all())


def _features():
    return Feature.objects.prefetch_related("ticket_links__ticket").order_by("pi", "rank", "id")


# --- write shapes (ids are checked by the services, which name the field) --------------------


class PICreateSerializer(StrictSerializer):
    program = serializers.IntegerField()
    name = serializers.CharField()
    sprint_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    start_date = serializers.DateField(required=False)
    sprint_count = serializers.IntegerField(required=False)
    sprint_weeks = serializers.IntegerField(required=False)


class MilestoneWriteSerializer(StrictSerializer):
    pi = serializers.IntegerField(required=False)
    name = serializers.CharField(required=False)
    date = serializers.DateField(required=False)
    kind = serializers.ChoiceField(choices=Milestone.Kind.choices, required=False)
    hard = serializers.BooleanField(required=False)


class FeatureWriteSerializer(StrictSerializer):
    pi = serializers.IntegerField(required=False)
    team = serializers.IntegerField(required=False)
    title = serializers.CharField(required=False)
    description = serializers.CharField(
        max_length=DESCRIPTION_MAX, required=False, allow_blank=True
    )
    planned_sprint = serializers.IntegerField(required=False, allow_null=True)
    milestone = serializers.IntegerField(required=False, allow_null=True)
    rank = serializers.IntegerField(required=False)
    ticket_keys = serializers.ListField(child=serializers.CharField(), required=False)
    expected_version = serializers.IntegerField(required=False)


class MoveSerializer(StrictSerializer):
    planned_sprint = serializers.IntegerField(allow_null=True)
    expected_version = serializers.IntegerField()


class TicketKeysSerializer(StrictSerializer):
    ticket_keys = serializers.ListField(child=serializers.CharField(), allow_empty=False)


def _valid(serializer_class, data, partial=False) -> dict:
    body = serializer_class(data=data, partial=partial)
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)


def _pi_by_id(pk, field: str = "pi") -> PlanningInterval:
    if pk is None:
        raise InvalidInput(f"{field}: this field is required.", field=field)
    pi = PlanningInterval.objects.select_related("program").filter(pk=pk).first()
    if pi is None:
        raise InvalidInput(f"Unknown PI {pk}.", code="unknown_pi", field=field)
    return pi


# --- viewsets --------------------------------------------------------------------------------


class ProgramViewSet(viewsets.ReadOnlyModelViewSet):
    """Programs: the teams that deliver one product together, and their PIs."""

    serializer_class = ProgramSerializer
    queryset = Program.objects.prefetch_related("teams", "intervals").order_by("name")


class PIUpdateSerializer(StrictSerializer):
    name = serializers.CharField(required=False)
    state = serializers.ChoiceField(choices=PlanningInterval.State.choices, required=False)


class PIViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Planning intervals with their iterations (sprints numbered 1..n). Filter ?program=.
    Create (Scrum master / Product Owner) from existing sprints (`sprint_ids`) or with
    `start_date`, `sprint_count` and `sprint_weeks` (new sprints: Scrum master); PATCH
    renames it or sets its state (planning, active, closed)."""

    serializer_class = PISerializer
    filterset_fields = ["program", "state"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(request=PIUpdateSerializer, responses={200: PISerializer})
    def partial_update(self, request, pk=None):
        pi = get_object_or_404(PlanningInterval, pk=pk)
        data = _valid(PIUpdateSerializer, request.data, partial=True)
        services.pi_update(actor=request.user, pi=pi, changes=data)
        return Response(PISerializer(selectors.pi_list().get(pk=pi.pk)).data)

    def get_queryset(self):
        return selectors.pi_list()

    @extend_schema(request=PICreateSerializer, responses={201: PISerializer})
    def create(self, request, *args, **kwargs):
        data = _valid(PICreateSerializer, request.data)
        program = Program.objects.filter(pk=data.pop("program")).first()
        if program is None:
            raise InvalidInput("Unknown program.", code="unknown_program", field="program")
        pi = services.pi_create(actor=request.user, program=program, **data)
        return Response(
            PISerializer(selectors.pi_list().get(pk=pi.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def board(self, request, pk=None):
        """The program board: columns (iterations, then "after"), rows (teams, then
        milestones), cards (features with planned and forecast iteration), links between
        features with SAFe health, the back-loading warning, milestones with P(met)."""
        pi = get_object_or_404(PlanningInterval.objects.select_related("program"), pk=pk)
        return Response(board_json(selectors.pi_board(pi)))

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def forecast(self, request, pk=None):
        """The latest stored PI forecast (`result`), when it was computed, and `stale`: a
        change is waiting to be recomputed. {"status": "pending"} before the first run."""
        pi = get_object_or_404(PlanningInterval, pk=pk)
        run = selectors.latest_forecast(pi)
        stale = selectors.forecast_stale(pi)
        if run is None:
            return Response({"status": "pending", "stale": stale})
        return Response(
            {
                "status": "ready",
                "id": run.pk,
                "computed_at": run.computed_at,
                "stale": stale,
                "trials": run.trials,
                "inputs_version": run.inputs_version,
                "result": run.result,
            }
        )


class MilestoneViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Milestones of a PI (dated events on the board). Filter ?pi=. The date must lie in
    the PI. Scrum master / Product Owner."""

    serializer_class = MilestoneSerializer
    queryset = Milestone.objects.order_by("pi", "date", "id")
    filterset_fields = ["pi"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(request=MilestoneWriteSerializer, responses={201: MilestoneSerializer})
    def create(self, request, *args, **kwargs):
        data = _valid(MilestoneWriteSerializer, request.data)
        pi = _pi_by_id(data.pop("pi", None))
        for required in ("name", "date"):
            if required not in data:
                raise InvalidInput(f"{required}: this field is required.", field=required)
        milestone = services.milestone_create(actor=request.user, pi=pi, **data)
        return Response(MilestoneSerializer(milestone).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MilestoneWriteSerializer, responses={200: MilestoneSerializer})
    def partial_update(self, request, *args, **kwargs):
        milestone = self.get_object()
        data = _valid(MilestoneWriteSerializer, request.data, partial=True)
        if "pi" in data and data.pop("pi") != milestone.pi_id:
            raise InvalidInput("A milestone cannot move to another PI.", field="pi")
        milestone = services.milestone_update(actor=request.user, milestone=milestone, changes=data)
        return Response(MilestoneSerializer(milestone).data)

    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    def perform_destroy(self, instance):
        services.milestone_delete(actor=self.request.user, milestone=instance)


class FeatureViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Features (epics) of a PI: owning team, planned iteration (a sprint of the PI),
    milestone, tickets. Filter ?pi=. Changes name `expected_version` (409 when stale)."""

    serializer_class = FeatureSerializer
    filterset_fields = ["pi", "team"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return _features()

    @extend_schema(request=FeatureWriteSerializer, responses={201: FeatureSerializer})
    def create(self, request, *args, **kwargs):
        data = _valid(FeatureWriteSerializer, request.data)
        pi = _pi_by_id(data.pop("pi", None))
        data.pop("expected_version", None)
        data.pop("rank", None)
        for required in ("team", "title"):
            if required not in data:
                raise InvalidInput(f"{required}: this field is required.", field=required)
        feature = services.feature_create(actor=request.user, pi=pi, **data)
        return Response(
            FeatureSerializer(_features().get(pk=feature.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=FeatureWriteSerializer, responses={200: FeatureSerializer})
    def partial_update(self, request, *args, **kwargs):
        feature = self.get_object()
        data = _valid(FeatureWriteSerializer, request.data, partial=True)
        if "expected_version" not in data:
            raise InvalidInput(
                "expected_version: give the version you edited.", field="expected_version"
            )
        expected = data.pop("expected_version")
        if "pi" in data and data.pop("pi") != feature.pi_id:
            raise InvalidInput("A feature cannot move to another PI.", field="pi")
        if "ticket_keys" in data:
            raise InvalidInput(
                "Attach or detach tickets with /features/{id}/tickets/.", field="ticket_keys"
            )
        services.feature_update(
            actor=request.user, feature=feature, changes=data, expected_version=expected
        )
        return Response(FeatureSerializer(_features().get(pk=feature.pk)).data)

    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    def stale_current(self, current) -> dict:
        """A stale edit's 409 carries the feature as it is now (the API's exception handler)."""
        return FeatureSerializer(_features().get(pk=current.pk)).data

    def perform_destroy(self, instance):
        services.feature_delete(actor=self.request.user, feature=instance)

    @extend_schema(request=MoveSerializer, responses={200: FeatureSerializer})
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        """Plan the feature to finish in another iteration of its PI (`planned_sprint`:
        a sprint id, or null). 409 with the current feature when `expected_version` is old."""
        feature = self.get_object()
        data = _valid(MoveSerializer, request.data)
        services.feature_move(actor=request.user, feature=feature, **data)
        return Response(FeatureSerializer(_features().get(pk=feature.pk)).data)

    @extend_schema(request=TicketKeysSerializer, responses={200: FeatureSerializer})
    @action(detail=True, methods=["post", "delete"])
    def tickets(self, request, pk=None):
        """POST attaches, DELETE detaches tickets by key ({"ticket_keys": [...]}). A ticket
        belongs to at most one feature."""
        feature = self.get_object()
        keys = _valid(TicketKeysSerializer, request.data)["ticket_keys"]
        if request.method == "DELETE":
            services.feature_tickets_detach(actor=request.user, feature=feature, keys=keys)
        else:
            services.feature_tickets_attach(actor=request.user, feature=feature, keys=keys)
        return Response(FeatureSerializer(_features().get(pk=feature.pk)).data)


# --- the board as JSON -----------------------------------------------------------------------


def _column_key(index: int | None, n: int) -> str:
    if index is None:
        return "unplaced"
    return "after" if index >= n else str(index)


def board_json(view: selectors.PIBoard) -> dict:
    n = len(view.iterations)
    run = view.run
    return {
        "pi": {
            "id": view.pi.pk,
            "name": view.pi.name,
            "start_date": view.pi.start_date,
            "end_date": view.pi.end_date,
            "state": view.pi.state,
        },
        "columns": [
            {
                "key": str(index),
                "label": it.label,
                "sprint_id": it.sprint_id,
                "sprint": view.sprint_names.get(it.sprint_id),
                "start_date": it.start,
                "end_date": it.end,
            }
            for index, it in enumerate(view.iterations)
        ]
        + [{"key": "after", "label": "After the PI"}]
        + (
            [{"key": "unplaced", "label": "Not placed"}]
            if any(f.column_index is None for f in view.features)
            else []
        ),
        "rows": [
            {"key": str(team_id), "team_id": team_id, "label": name} for team_id, name in view.teams
        ]
        + [{"key": "milestones", "label": "Milestones"}],
        "cards": [
            {
                "feature_id": f.id,
                "title": f.title,
                "team_id": f.team_id,
                "team": f.team_key,
                "version": f.version,
                "column": _column_key(f.column_index, n),
                "planned_iteration": f.planned_label if f.planned_index is not None else None,
                "planned_sprint_id": f.planned_sprint_id,
                "forecast_iteration": f.forecast_label if f.has_forecast else None,
                "forecast_sprint_id": f.p85_sprint_id,
                "p85": f.p85,
                "p_by_planned": f.p_by_planned,
                "p_by_planned_outlook": probability.outlook(f.p_by_planned),
                "milestone_id": f.milestone.pk if f.milestone else None,
                "p_by_milestone": f.p_by_milestone,
                "p_by_milestone_outlook": probability.outlook(f.p_by_milestone),
                "past_milestone": f.past_milestone,
                "done": f.done,
                "ticket_keys": f.ticket_keys,
            }
            for f in view.features
        ],
        "links": [
            {
                "provider_feature_id": d.provider.id,
                "consumer_feature_id": d.consumer.id,
                "health": d.health,
                "reason": d.reason,
                "text": d.sentence,
            }
            for d in view.dependencies
        ],
        "back_loading": {
            "warning": view.backload.warning,
            "in_last_two": view.backload.in_last_two,
            "planned": view.backload.planned,
            "text": view.backload.text if view.backload.warning else None,
        },
        "milestones": [
            {
                "id": m.id,
                "name": m.name,
                "date": m.date,
                "kind": m.kind,
                "hard": m.hard,
                "p_met": m.p_met,
                "p_met_outlook": probability.outlook(m.p_met),
                "bottleneck_team_id": m.bottleneck_team_id,
                "features_past_milestone": [f.id for f in m.features_past],
            }
            for m in view.milestones
        ],
        "forecast": {
            "computed_at": run.computed_at if run else None,
            "stale": view.stale,
            "low_confidence_teams": view.low_confidence_teams,
        },
    }


def register(router) -> None:
    router.register("programs", ProgramViewSet, basename="program")
    router.register("pis", PIViewSet, basename="pi")
    router.register("milestones", MilestoneViewSet, basename="pi-milestone")
    router.register("features", FeatureViewSet, basename="pi-feature")
