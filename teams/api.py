from django.db.models import Prefetch
from rest_framework import mixins, serializers, viewsets

from sprintplan.api import StrictModelSerializer

from . import services
from .models import Membership, Team


class TeamSerializer(StrictModelSerializer):
    members = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = [
            "id",
            "name",
            "key_prefix",
            "kind",
            "unit",
            "unit_label",
            "default_rate",
            "members",
        ]
        read_only_fields = ["id", "members"]

    def get_members(self, team) -> list[dict]:
        return [
            {"user": m.user_id, "username": m.user.username, "role": m.role}
            for m in team.memberships.all()
        ]


class TeamViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = TeamSerializer
    queryset = Team.objects.prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.select_related("user"))
    ).order_by("name")
    filterset_fields = ["kind"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def perform_create(self, serializer):
        serializer.instance = services.team_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.team_update(
            actor=self.request.user, team=serializer.instance, changes=serializer.validated_data
        )


def register(router) -> None:
    router.register("teams", TeamViewSet, basename="team")
