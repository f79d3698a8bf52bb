from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from . import selectors, services
from .models import Sprint


class SprintSerializer(serializers.ModelSerializer):
    class Meta:
        model = Sprint
        fields = ["id", "name", "start_date", "end_date", "state", "goal"]
        read_only_fields = ["id"]

    def validate(self, attrs):
        start = attrs.get("start_date", getattr(self.instance, "start_date", None))
        end = attrs.get("end_date", getattr(self.instance, "end_date", None))
        if start and end and start > end:
            raise serializers.ValidationError(
                {"end_date": f"The sprint cannot end ({end}) before it starts ({start})."}
            )
        return attrs


class SprintGraphSerializer(serializers.Serializer):
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


class SprintViewSet(
    mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    serializer_class = SprintSerializer
    queryset = Sprint.objects.order_by("start_date", "id")
    filterset_fields = ["state"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def perform_create(self, serializer):
        serializer.instance = services.sprint_create(
            actor=self.request.user, **serializer.validated_data
        )

    @extend_schema(responses={200: SprintGraphSerializer})
    @action(detail=True, methods=["get"])
    def graph(self, request, pk=None):
        """The sprint's dependency graph: link health (red: blocker planned later or not
        at all; orange: same sprint; green: earlier or done) and the critical path."""
        return Response(SprintGraphSerializer(selectors.sprint_graph(self.get_object())).data)

    def perform_update(self, serializer):
        serializer.instance = services.sprint_update(
            actor=self.request.user, sprint=serializer.instance, changes=serializer.validated_data
        )


def register(router) -> None:
    router.register("sprints", SprintViewSet, basename="sprint")
