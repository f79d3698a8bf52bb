"""The forecast's "What should we do?" through the API, nested under a sprint:

- GET  /sprints/{id}/options/          ranked options for the weakest goal, each with the
                                       P(goal met) and P85 it would give (nothing is saved);
- POST /sprints/{id}/options/apply/    perform one offered option through the services,
                                       with a reason (recorded as a plan decision);
- GET|POST /sprints/{id}/assumptions/, DELETE …/assumptions/{id}/
                                       explicit assumptions about unplanned blockers.

The same rules as the panel: anyone signed in reads; applying is checked by the service per
option (capacity for lending, sprints for extending, goals otherwise)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from sprintplan import probability
from sprintplan.api import StrictModelSerializer, StrictSerializer

from .. import options_services
from ..models import ForecastAssumption, PlanDecision
from .scope import SPRINT_PREFIX, SprintScoped


class OptionSerializer(StrictSerializer):
    kind = serializers.ChoiceField(
        choices=["take_out", "split", "plan_blocker", "lend", "extend", "deadline"]
    )
    title = serializers.CharField(help_text="What the option does, in words.")
    params = serializers.DictField(help_text="What apply needs, exactly as given here.")
    p_met = serializers.FloatField(help_text="P(goal met) with this option.")
    outlook = serializers.CharField()
    p85 = serializers.DateField(allow_null=True)
    gain = serializers.FloatField(help_text="p_met minus today's, in the same trials.")
    may_apply = serializers.BooleanField(help_text="Whether you may apply it.")


class GoalRefSerializer(StrictSerializer):
    id = serializers.IntegerField(allow_null=True, help_text="None: all committed work.")
    text = serializers.CharField()


class OptionsReportSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=["ready", "nothing_to_plan"])
    goal = GoalRefSerializer(allow_null=True)
    p_met = serializers.FloatField(allow_null=True, help_text="P(goal met) today.")
    outlook = serializers.CharField(allow_null=True)
    p85 = serializers.DateField(allow_null=True)
    options = OptionSerializer(many=True)


class OptionApplySerializer(StrictSerializer):
    kind = serializers.CharField()
    params = serializers.DictField()
    reason = serializers.CharField(max_length=300, help_text="Why; history records it.")


class PlanDecisionSerializer(StrictModelSerializer):
    decided_by = serializers.CharField(source="decided_by.username", default=None)

    class Meta:
        model = PlanDecision
        fields = [
            "id",
            "kind",
            "summary",
            "reason",
            "p_met_before",
            "p_met_previewed",
            "decided_by",
            "decided_at",
        ]
        read_only_fields = fields


class OptionsViewSet(SprintScoped, viewsets.ViewSet):
    """The panel's options for the sprint's weakest goal, best first."""

    # The answer is one object (a list action would be documented as an array): its shape
    # is OptionsReportSerializer, which also writes it.
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def list(self, request, sprint_pk=None):
        report = options_services.current_options(self.sprint())
        if report is None:
            empty = {"goal": None, "p_met": None, "outlook": None, "p85": None, "options": []}
            return Response(OptionsReportSerializer({"status": "nothing_to_plan", **empty}).data)
        rows = [
            {
                "kind": option.kind,
                "title": option.title,
                "params": option.params,
                "p_met": option.p_met,
                "outlook": probability.outlook(option.p_met),
                "p85": option.p85,
                "gain": round(option.p_met - report.p_met, 4),
                "may_apply": options_services.can_apply(request.user, option),
            }
            for option in report.top()
        ]
        body = {
            "status": "ready",
            "goal": {"id": report.goal_id, "text": report.goal_text},
            "p_met": report.p_met,
            "outlook": probability.outlook(report.p_met),
            "p85": report.p85,
            "options": rows,
        }
        return Response(OptionsReportSerializer(body).data)

    @extend_schema(request=OptionApplySerializer, responses={201: PlanDecisionSerializer})
    @action(detail=False, methods=["post"])
    def apply(self, request, sprint_pk=None):
        """Apply an option exactly as listed (kind and params); 400 `option_gone` when the
        sprint changed and it is no longer offered."""
        body = OptionApplySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decision = options_services.option_apply(
            actor=request.user, sprint=self.sprint(), **body.validated_data
        )
        return Response(PlanDecisionSerializer(decision).data, status=201)


class AssumptionSerializer(StrictModelSerializer):
    ticket = serializers.CharField(source="ticket.key", help_text="The unplanned blocker.")
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)

    class Meta:
        model = ForecastAssumption
        fields = ["id", "ticket", "note", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]


class AssumptionViewSet(
    SprintScoped,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Explicit assumptions of the sprint's forecast: "labeling does LAB-2 although no
    sprint plans it" (Scrum master). Recording one for a ticket again replaces its note."""

    serializer_class = AssumptionSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no sprint
            return ForecastAssumption.objects.none()
        return ForecastAssumption.objects.filter(sprint_id=self.kwargs["sprint_pk"]).select_related(
            "ticket", "created_by"
        )

    def perform_create(self, serializer):
        serializer.instance = options_services.assumption_record(
            actor=self.request.user,
            sprint=self.sprint(),
            ticket_key=serializer.validated_data["ticket"]["key"],
            note=serializer.validated_data["note"],
        )

    def perform_destroy(self, instance):
        options_services.assumption_delete(actor=self.request.user, assumption=instance)


def register(router) -> None:
    router.register(f"{SPRINT_PREFIX}/options", OptionsViewSet, basename="sprint-options")
    router.register(f"{SPRINT_PREFIX}/assumptions", AssumptionViewSet, basename="sprint-assumption")
