"""Teams and their members. A team is named by its key prefix ("LAB") everywhere; its
numeric id is accepted too."""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api import UserRefField
from accounts.models import User
from sprintplan.api import StrictModelSerializer, StrictSerializer

from . import services
from .models import Membership, Team


def team_by_ref(ref) -> Team | None:
    """A team by key prefix (any case) or numeric id."""
    text = str(ref).strip()
    team = Team.objects.filter(key_prefix=text.upper()).first()
    if team is None and text.isdigit():
        team = Team.objects.filter(pk=int(text)).first()
    return team


@extend_schema_field(OpenApiTypes.STR)
class TeamRefField(serializers.RelatedField):
    """A team named by key prefix ("LAB"); a numeric id is accepted too."""

    default_error_messages = {"unknown": "There is no team {value!r}."}

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Team.objects.all())
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        team = team_by_ref(data)
        if team is None:
            self.fail("unknown", value=str(data))
        return team

    def to_representation(self, value):
        return value.key_prefix


class MemberSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    display_name = serializers.CharField(source="user.display_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["user", "display_name", "role", "part_time_percent"]


class MemberInputSerializer(StrictSerializer):
    user = UserRefField()
    role = serializers.ChoiceField(choices=Membership.Role.choices, default="member")
    part_time_percent = serializers.IntegerField(required=False, min_value=1, max_value=100)


class MemberChangeSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices, required=False)
    part_time_percent = serializers.IntegerField(required=False, min_value=1, max_value=100)


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
            "wip_limits",
            "members",
        ]
        read_only_fields = ["id", "members"]

    def get_members(self, team) -> list[dict]:
        return [
            {
                "user": m.user_id,
                "username": m.user.username,
                "role": m.role,
                "part_time_percent": m.part_time_percent,
            }
            for m in team.memberships.all()
        ]


class TeamViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """`/teams/LAB/` or `/teams/3/`; members under `/teams/LAB/members/`."""

    serializer_class = TeamSerializer
    queryset = Team.objects.prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.select_related("user"))
    ).order_by("name")
    filterset_fields = ["kind"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = "[A-Za-z0-9]+"

    def get_object(self):
        ref = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        team = team_by_ref(ref)
        if team is None:
            get_object_or_404(Team, pk=-1)
        self.check_object_permissions(self.request, team)
        return self.get_queryset().get(pk=team.pk)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        wip = data.pop("wip_limits", None)
        serializer.instance = services.team_create(actor=self.request.user, **data)
        if wip:
            services.team_set_wip_limits(
                actor=self.request.user, team=serializer.instance, limits=wip
            )

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        wip = data.pop("wip_limits", None)
        team = serializer.instance
        if data:
            team = services.team_update(actor=self.request.user, team=team, changes=data)
        if wip is not None:
            services.team_set_wip_limits(actor=self.request.user, team=team, limits=wip)
        serializer.instance = team

    @extend_schema(request=MemberInputSerializer, responses={200: MemberSerializer(many=True)})
    @action(detail=True, methods=["get", "post"], url_path="members")
    def members(self, request, pk=None):
        """GET: the team's people. POST (Scrum master): add a person or change their role:
        `{"user": "ana", "role": "lead", "part_time_percent": 50}`."""
        team = self.get_object()
        if request.method == "POST":
            data = MemberInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            services.membership_set(actor=request.user, team=team, **data.validated_data)
        rows = team.memberships.select_related("user").exclude(
            user__product_role=User.ProductRole.INTEGRATION
        )
        code = status.HTTP_201_CREATED if request.method == "POST" else status.HTTP_200_OK
        return Response(MemberSerializer(rows, many=True).data, status=code)

    @extend_schema(request=MemberChangeSerializer, responses={200: MemberSerializer})
    @action(
        detail=True,
        methods=["patch", "delete"],
        url_path=r"members/(?P<username>[\w.@+-]+)",
    )
    def member(self, request, pk=None, username=None):
        """PATCH: role (Scrum master) or part time (Scrum master or the team's lead).
        DELETE (Scrum master): take the person off the team."""
        team = self.get_object()
        membership = get_object_or_404(
            Membership.objects.select_related("user"), team=team, user__username=username
        )
        if request.method == "DELETE":
            services.membership_remove(actor=request.user, membership=membership)
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = MemberChangeSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = data.validated_data
        if "role" in changes:
            services.membership_set(
                actor=request.user, team=team, user=membership.user, role=changes["role"]
            )
        if "part_time_percent" in changes:
            services.membership_set_part_time(
                actor=request.user,
                membership=membership,
                part_time_percent=changes["part_time_percent"],
            )
        membership.refresh_from_db()
        return Response(MemberSerializer(membership).data)


def register(router) -> None:
    router.register("teams", TeamViewSet, basename="team")
