"""Program API, governance area: PI objectives and predictability, program risks (ROAM,
feed to / withdraw from the forecast), RACI rows and decision records.

Nested under their PI (/api/v1/pis/{pi_pk}/...) or program (/api/v1/programs/{program_pk}/
...). Reads are open to every signed-in user; every write goes through
programs.services.governance, which checks the role. Versioned writes (objectives, risks,
decisions) send the `version` they saw; a stale one answers 409."""

from datetime import date

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import User
from planning.models import Risk
from planning.selectors import resolve_team
from sprintplan.api import StrictModelSerializer, StrictSerializer
from sprintplan.errors import InvalidInput
from sprintplan.limits import DECISION_TEXT_MAX, DESCRIPTION_MAX, NOTE_MAX

from ..models import Decision, Objective, PlanningInterval, Program, ProgramRisk, RaciActivity
from ..selectors import governance as selectors
from ..services import governance as services

PI_PREFIX = r"pis/(?P<pi_pk>[0-9]+)"
PROGRAM_PREFIX = r"programs/(?P<program_pk>[0-9]+)"


class _PiScoped:
    def pi(self) -> PlanningInterval:
        return get_object_or_404(
            PlanningInterval.objects.select_related("program"), pk=self.kwargs["pi_pk"]
        )


class _ProgramScoped:
    def program(self) -> Program:
        return get_object_or_404(Program, pk=self.kwargs["program_pk"])


def _fake(view) -> bool:
    return getattr(view, "swagger_fake_view", False)  # schema generation: no parent


# --- objectives ------------------------------------------------------------------------------


class ObjectiveSerializer(StrictModelSerializer):
    team = serializers.CharField(source="team.key_prefix", read_only=True)
    features = serializers.SerializerMethodField()

    class Meta:
        model = Objective
        fields = [
            "id",
            "team",
            "title",
            "committed",
            "planned_value",
            "actual_value",
            "features",
            "version",
        ]
        read_only_fields = fields

    def get_features(self, objective) -> list[int]:
        return sorted(feature.pk for feature in objective.features.all())


class ObjectiveInputSerializer(StrictSerializer):
    team = serializers.CharField(required=False, help_text="Team key prefix, e.g. ML (create).")
    title = serializers.CharField(required=False, allow_blank=True)
    committed = serializers.BooleanField(required=False)
    planned_value = serializers.IntegerField(required=False, allow_null=True)
    actual_value = serializers.IntegerField(required=False, allow_null=True)
    features = serializers.ListField(child=serializers.IntegerField(), required=False)
    version = serializers.IntegerField(required=False, help_text="Required on PATCH.")


class ObjectiveViewSet(
    _PiScoped,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """A PI's objectives per team. Title, committed and features: the team's lead (or the
    SM/PO); planned (1-10) and actual (0-10) business value: the PO or the Scrum master.
    PATCH names the `version` it edits (409 when stale)."""

    serializer_class = ObjectiveSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if _fake(self):
            return Objective.objects.none()
        return (
            Objective.objects.filter(pi=self.pi())
            .select_related("team")
            .prefetch_related("features")
            .order_by("team__name", "-committed", "id")
        )

    @extend_schema(request=ObjectiveInputSerializer, responses={201: ObjectiveSerializer})
    def create(self, request, pi_pk=None):
        body = ObjectiveInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if not data.get("team"):
            raise InvalidInput("team: name the team (key prefix).", field="team")
        objective = services.objective_create(
            actor=request.user,
            pi=self.pi(),
            team=resolve_team(data["team"]),
            title=data.get("title", ""),
            committed=data.get("committed", True),
            planned_value=data.get("planned_value"),
            actual_value=data.get("actual_value"),
            feature_ids=data.get("features", []),
        )
        return Response(ObjectiveSerializer(objective).data, status=201)

    @extend_schema(request=ObjectiveInputSerializer, responses={200: ObjectiveSerializer})
    def partial_update(self, request, pi_pk=None, pk=None):
        objective = self.get_object()
        body = ObjectiveInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        version = _version(data)
        if "team" in data:
            raise InvalidInput("team cannot change; delete and re-create.", field="team")
        objective = services.objective_update(
            actor=request.user, objective=objective, changes=data, expected_version=version
        )
        return Response(ObjectiveSerializer(objective).data)

    def perform_destroy(self, instance):
        services.objective_delete(actor=self.request.user, objective=instance)


def _version(data: dict) -> int:
    version = data.pop("version", None)
    if version is None:
        raise InvalidInput("version: send the version you edited.", field="version")
    return version


def _figure(figure) -> dict:
    return {
        "percent": None if figure.percent is None else round(figure.percent, 1),
        "state": figure.state,
        "verdict": figure.verdict,
        "healthy": figure.healthy,
        "objectives": figure.objectives,
        "committed": figure.committed,
        "unscored": figure.unscored,
        "planned_committed": figure.planned_committed,
        "planned_stretch": figure.planned_stretch,
        "actual": figure.actual,
    }


class PredictabilityViewSet(_PiScoped, viewsets.ViewSet):  # GET .../predictability/
    """Σ actual BV of all objectives ÷ Σ planned BV of committed objectives x 100, per team
    and for the program, with the program's history across its PIs up to this one.
    `percent` is null with state "not_scored" until every objective has its actual value,
    and with state "no_commitment" when nothing is committed."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def list(self, request, pi_pk=None):
        report = selectors.pi_predictability(self.pi())
        return Response(
            {
                "pi": report.pi.name,
                "healthy_band": [80, 100],
                "teams": [
                    {"team": team.key_prefix, "name": team.name, **_figure(figure)}
                    for team, figure in report.teams
                ],
                "program": _figure(report.program),
                "history": [
                    {"pi": point.label, **_figure(point.figure)} for point in report.history
                ],
            }
        )


# --- program risks ---------------------------------------------------------------------------


class ProgramRiskSerializer(StrictModelSerializer):
    owner = serializers.CharField(source="owner.username", default=None, read_only=True)
    team = serializers.CharField(source="team.key_prefix", default=None, read_only=True)
    tickets = serializers.SerializerMethodField()
    adjustment = serializers.SerializerMethodField()
    source_risk = serializers.SerializerMethodField()

    class Meta:
        model = ProgramRisk
        fields = [
            "id",
            "title",
            "description",
            "likelihood",
            "impact",
            "exposure",
            "state",
            "owner",
            "follow_up",
            "note",
            "tickets",
            "team",
            "expected_delay_days",
            "adjustment",
            "source_risk",
            "version",
        ]
        read_only_fields = fields

    def get_tickets(self, risk) -> list[str]:
        return sorted(ticket.key for ticket in risk.tickets.all())

    def get_adjustment(self, risk) -> dict | None:
        adjustment = risk.adjustment
        if adjustment is None:
            return None
        return {
            "id": adjustment.pk,
            "sprint": adjustment.sprint_id,
            "from_date": adjustment.from_date,
            "to_date": adjustment.to_date,
            "factor": float(adjustment.factor),
            "reason": adjustment.reason,
        }

    def get_source_risk(self, risk) -> dict | None:
        source = risk.source_risk
        return None if source is None else {"id": source.pk, "sprint": source.sprint.name}


class RiskInputSerializer(StrictSerializer):
    title = serializers.CharField(required=False, allow_blank=True)
    description = serializers.CharField(
        max_length=DESCRIPTION_MAX, required=False, allow_blank=True
    )
    likelihood = serializers.IntegerField(required=False, help_text="1 low, 2 medium, 3 high")
    impact = serializers.IntegerField(required=False, help_text="1 low, 2 medium, 3 high")
    team = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    expected_delay_days = serializers.IntegerField(required=False)
    tickets = serializers.ListField(child=serializers.CharField(), required=False)
    version = serializers.IntegerField(required=False, help_text="Required on PATCH.")


class RoamSerializer(StrictSerializer):
    state = serializers.CharField()
    owner = serializers.CharField(required=False, allow_null=True, help_text="Username.")
    follow_up = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(max_length=NOTE_MAX, required=False, allow_blank=True)
    tickets = serializers.ListField(child=serializers.CharField(), required=False)
    version = serializers.IntegerField()


class FeedSerializer(StrictSerializer):
    from_date = serializers.DateField()
    version = serializers.IntegerField()


class VersionSerializer(StrictSerializer):
    version = serializers.IntegerField()


class TakeSerializer(StrictSerializer):
    source_risk = serializers.IntegerField(help_text="Id of a pre-mortem risk of a PI sprint.")


def _team_ref(value):
    return resolve_team(value) if value not in (None, "") else None


class ProgramRiskViewSet(
    _PiScoped,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Program risks of a PI, ROAMed like the sprint pre-mortem risks (owned: owner and
    follow-up; accepted/resolved: a note; mitigated: linked tickets). `feed` turns the
    expected delay into a capacity adjustment (team x 0 for that many working days from
    `from_date`, in the PI sprint holding it) so forecasts recompute; `withdraw` deletes it.
    Scrum master, Product Owner or a team lead; feeding also needs the right to change the
    team's capacity (its lead or the Scrum master)."""

    serializer_class = ProgramRiskSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if _fake(self):
            return ProgramRisk.objects.none()
        return (
            ProgramRisk.objects.filter(pi=self.pi())
            .select_related("owner", "team", "adjustment", "source_risk__sprint")
            .prefetch_related("tickets")
        )

    def _out(self, risk, status=200):
        return Response(ProgramRiskSerializer(self.get_queryset().get(pk=risk.pk)).data, status)

    @extend_schema(request=RiskInputSerializer, responses={201: ProgramRiskSerializer})
    def create(self, request, pi_pk=None):
        body = RiskInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        risk = services.program_risk_raise(
            actor=request.user,
            pi=self.pi(),
            title=data.get("title", ""),
            description=data.get("description", ""),
            likelihood=data.get("likelihood", Risk.Level.MEDIUM),
            impact=data.get("impact", Risk.Level.MEDIUM),
            team=_team_ref(data.get("team")),
            expected_delay_days=data.get("expected_delay_days", 0),
            ticket_keys=data.get("tickets", []),
        )
        return self._out(risk, 201)

    @extend_schema(request=RiskInputSerializer, responses={200: ProgramRiskSerializer})
    def partial_update(self, request, pi_pk=None, pk=None):
        risk = self.get_object()
        body = RiskInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        version = _version(data)
        if "team" in data:
            data["team"] = _team_ref(data["team"])
        risk = services.program_risk_update(
            actor=request.user, risk=risk, changes=data, expected_version=version
        )
        return self._out(risk)

    def perform_destroy(self, instance):
        services.program_risk_delete(actor=self.request.user, risk=instance)

    @extend_schema(request=RoamSerializer, responses={200: ProgramRiskSerializer})
    @action(detail=True, methods=["post"])
    def roam(self, request, pi_pk=None, pk=None):
        risk = self.get_object()
        body = RoamSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        owner = None
        if data.get("owner"):
            owner = User.objects.filter(username=data["owner"]).first()
            if owner is None:
                raise InvalidInput(f"Unknown user {data['owner']!r}.", field="owner")
        risk = services.program_risk_roam(
            actor=request.user,
            risk=risk,
            state=data["state"],
            owner=owner,
            follow_up=data.get("follow_up"),
            note=data.get("note", ""),
            ticket_keys=data.get("tickets") or None,
            expected_version=data["version"],
        )
        return self._out(risk)

    @extend_schema(request=FeedSerializer, responses={200: ProgramRiskSerializer})
    @action(detail=True, methods=["post"])
    def feed(self, request, pi_pk=None, pk=None):
        risk = self.get_object()
        body = FeedSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        risk = services.program_risk_feed(
            actor=request.user,
            risk=risk,
            from_date=body.validated_data["from_date"],
            expected_version=body.validated_data["version"],
        )
        return self._out(risk)

    @extend_schema(request=VersionSerializer, responses={200: ProgramRiskSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pi_pk=None, pk=None):
        risk = self.get_object()
        body = VersionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        risk = services.program_risk_withdraw(
            actor=request.user, risk=risk, expected_version=body.validated_data["version"]
        )
        return self._out(risk)

    @extend_schema(request=TakeSerializer, responses={201: ProgramRiskSerializer})
    @action(detail=False, methods=["post"])
    def take(self, request, pi_pk=None):
        """Take a sprint pre-mortem risk (of one of the PI's sprints) to program level."""
        body = TakeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        source = Risk.objects.filter(pk=body.validated_data["source_risk"]).first()
        if source is None:
            raise InvalidInput("Unknown pre-mortem risk.", field="source_risk")
        risk = services.program_risk_take(actor=request.user, pi=self.pi(), risk=source)
        return self._out(risk, 201)

    @extend_schema(
        parameters=[OpenApiParameter("today", OpenApiTypes.DATE, required=False)],
        responses={200: ProgramRiskSerializer(many=True)},
    )
    @action(detail=False, methods=["get"], url_path="due-for-review")
    def due_for_review(self, request, pi_pk=None):
        """Not resolved, follow-up date within 7 days of `today` (overdue included)."""
        raw = request.query_params.get("today")
        try:
            today = date.fromisoformat(raw) if raw else date.today()
        except ValueError:
            raise InvalidInput(f"{raw!r} is not a date (YYYY-MM-DD).", field="today") from None
        page = self.paginate_queryset(selectors.risks_due_for_review(self.pi(), today))
        return self.get_paginated_response(ProgramRiskSerializer(page, many=True).data)


# --- RACI ------------------------------------------------------------------------------------


class RaciInputSerializer(StrictSerializer):
    name = serializers.CharField(required=False, allow_blank=True)
    row = serializers.DictField(
        child=serializers.CharField(allow_blank=True, allow_null=True),
        help_text='{"ML": "A", "LAB": "R", "product_owner": "C", "scrum_master": "I"}: '
        "team key prefixes and the roles scrum_master / product_owner; exactly one A.",
    )


def _raci_out(row) -> dict:
    return {
        "id": row.activity.pk,
        "name": row.activity.name,
        "order": row.activity.order,
        "row": {column.key: letter for column, letter in row.cells if letter},
        "accountable": next((c.key for c, letter in row.cells if letter == "A"), None),
    }


class RaciViewSet(_ProgramScoped, viewsets.ViewSet):
    """The program's RACI matrix: activities with their whole row. Columns: the program's
    teams (key prefix) and the roles scrum_master and product_owner. PUT replaces a whole
    row; a row without exactly one Accountable is refused (400 naming the activity) and
    nothing is written. Only the Scrum master writes."""

    lookup_value_regex = "[0-9]+"

    @extend_schema(operation_id="v1_programs_raci_list", responses={200: OpenApiTypes.OBJECT})
    def list(self, request, program_pk=None):
        columns, rows = selectors.raci_matrix(self.program())
        return Response(
            {
                "columns": [{"key": c.key, "label": c.label} for c in columns],
                "activities": [_raci_out(row) for row in rows],
            }
        )

    def _activity(self, pk) -> RaciActivity:
        return get_object_or_404(
            RaciActivity.objects.select_related("program"),
            pk=pk,
            program_id=self.kwargs["program_pk"],
        )

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def retrieve(self, request, program_pk=None, pk=None):
        _, row = selectors.raci_activity_row(self._activity(pk))
        return Response(_raci_out(row))

    @extend_schema(request=RaciInputSerializer, responses={201: OpenApiTypes.OBJECT})
    def create(self, request, program_pk=None):
        body = RaciInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        activity = services.raci_activity_create(
            actor=request.user,
            program=self.program(),
            name=body.validated_data.get("name", ""),
            row=body.validated_data["row"],
        )
        _, row = selectors.raci_activity_row(activity)
        return Response(_raci_out(row), status=201)

    @extend_schema(request=RaciInputSerializer, responses={200: OpenApiTypes.OBJECT})
    def update(self, request, program_pk=None, pk=None):
        activity = self._activity(pk)
        body = RaciInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.raci_row_set(
            actor=request.user,
            activity=activity,
            row=body.validated_data["row"],
            name=body.validated_data.get("name"),
        )
        _, row = selectors.raci_activity_row(activity)
        return Response(_raci_out(row))

    @extend_schema(responses={204: None})
    def destroy(self, request, program_pk=None, pk=None):
        services.raci_activity_delete(actor=request.user, activity=self._activity(pk))
        return Response(status=204)


# --- decisions -------------------------------------------------------------------------------


class DecisionSerializer(StrictModelSerializer):
    key = serializers.SerializerMethodField()
    tickets = serializers.SerializerMethodField()
    sprints = serializers.SerializerMethodField()
    superseded_by = serializers.IntegerField(
        source="superseded_by.number", default=None, read_only=True
    )
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)

    class Meta:
        model = Decision
        fields = [
            "number",
            "key",
            "title",
            "context",
            "decision",
            "consequences",
            "status",
            "decided_on",
            "tickets",
            "sprints",
            "superseded_by",
            "created_by",
            "created_at",
            "version",
        ]
        read_only_fields = fields

    def get_key(self, record) -> str:
        return f"DR-{record.number}"

    def get_tickets(self, record) -> list[str]:
        return sorted(ticket.key for ticket in record.tickets.all())

    def get_sprints(self, record) -> list[int]:
        return [sprint.pk for sprint in record.sprints.all()]


def _decision_input_field(name: str, kind: str) -> serializers.Field:
    if kind == "text":  # the title gets the short-text limit of StrictSerializer
        return serializers.CharField(
            max_length=None if name == "title" else DECISION_TEXT_MAX,
            required=False,
            allow_blank=True,
        )
    if kind == "date":
        return serializers.DateField(required=False)
    if kind == "keys":
        return serializers.ListField(child=serializers.CharField(), required=False)
    if kind == "ids":
        return serializers.ListField(child=serializers.IntegerField(), required=False)
    if kind == "number":
        return serializers.IntegerField(
            required=False, allow_null=True, help_text="Number of the newer record (PATCH)."
        )
    return serializers.CharField(required=False)


# Built from the service's one list of decision fields, so the API cannot drift from it.
DecisionInputSerializer = type(
    "DecisionInputSerializer",
    (StrictSerializer,),
    {
        **{
            name: _decision_input_field(name, kind)
            for name, kind in services.DECISION_FIELDS.items()
        },
        "version": serializers.IntegerField(required=False, help_text="Required on PATCH."),
    },
)


class DecisionViewSet(
    _ProgramScoped,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Decision records of a program, addressed by number (/decisions/3/ is DR-3; the
    number is assigned on create). Scrum master, Product Owner or a team lead. Superseding:
    PATCH {"superseded_by": <newer number>, "version": n}."""

    serializer_class = DecisionSerializer
    lookup_field = "number"
    lookup_value_regex = "[0-9]+"
    filterset_fields = ["status"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if _fake(self):
            return Decision.objects.none()
        return (
            Decision.objects.filter(program_id=self.kwargs["program_pk"])
            .select_related("superseded_by", "created_by")
            .prefetch_related("tickets", "sprints")
            .order_by("-number")
        )

    def list(self, request, *args, **kwargs):
        self.program()  # 404 for an unknown program
        return super().list(request, *args, **kwargs)

    @extend_schema(request=DecisionInputSerializer, responses={201: DecisionSerializer})
    def create(self, request, program_pk=None):
        body = DecisionInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        record = services.decision_create(
            actor=request.user,
            program=self.program(),
            title=data.get("title", ""),
            context=data.get("context", ""),
            decision=data.get("decision", ""),
            consequences=data.get("consequences", ""),
            status=data.get("status", Decision.Status.PROPOSED),
            decided_on=data.get("decided_on"),
            ticket_keys=data.get("tickets", []),
            sprint_ids=data.get("sprints", []),
        )
        return Response(DecisionSerializer(self.get_queryset().get(pk=record.pk)).data, 201)

    @extend_schema(request=DecisionInputSerializer, responses={200: DecisionSerializer})
    def partial_update(self, request, program_pk=None, number=None):
        record = self.get_object()
        body = DecisionInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        version = _version(data)
        record = services.decision_update(
            actor=request.user, decision=record, changes=data, expected_version=version
        )
        return Response(DecisionSerializer(self.get_queryset().get(pk=record.pk)).data)

    def perform_destroy(self, instance):
        services.decision_delete(actor=self.request.user, decision=instance)


def register(router) -> None:
    router.register(f"{PI_PREFIX}/objectives", ObjectiveViewSet, basename="pi-objective")
    router.register(
        f"{PI_PREFIX}/predictability", PredictabilityViewSet, basename="pi-predictability"
    )
    router.register(f"{PI_PREFIX}/risks", ProgramRiskViewSet, basename="pi-risk")
    router.register(f"{PROGRAM_PREFIX}/raci", RaciViewSet, basename="program-raci")
    router.register(f"{PROGRAM_PREFIX}/decisions", DecisionViewSet, basename="program-decision")
