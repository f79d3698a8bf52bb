"""Sprints through the API: create, rename and re-date (at a version), commit, close, and
the dependency graph."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from sprintplan.api import StrictModelSerializer, StrictSerializer
from sprints.models import Sprint
from teams.api import TeamRefField

from .. import selectors, services
from ..models import SprintCommitment

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
