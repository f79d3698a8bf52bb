"""People through the API: look up by username, search, and (Scrum master) add, change,
deactivate. Users are referred to by username everywhere.

/api/v1/auth/token/: exchange a username and password for an API token, and revoke it.

Tokens are django-rest-knox tokens: stored hashed, expiring after API_TOKEN_TTL_HOURS,
revocable one by one or all at once. Failed sign-ins count towards django-axes' lockout
(the request is handed to authenticate())."""

from django.contrib.auth import authenticate
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, parsers, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from sprintplan.api import StrictSerializer
from sprintplan.throttling import TokenEndpointRateLimits

from . import services
from .models import User


@extend_schema_field(OpenApiTypes.STR)
class UserRefField(serializers.RelatedField):
    """A person named by username (a numeric id is accepted too)."""

    default_error_messages = {"unknown": "There is no active person {value!r}."}

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", User.objects.filter(is_active=True))
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        text = str(data).strip()
        queryset = self.get_queryset()
        user = queryset.filter(username=text).first()
        if user is None and text.isdigit():
            user = queryset.filter(pk=int(text)).first()
        if user is None:
            self.fail("unknown", value=text)
        return user

    def to_representation(self, value):
        return value.username


class UserSerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(read_only=True)
    teams = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "display_name",
            "first_name",
            "last_name",
            "email",
            "product_role",
            "is_active",
            "teams",
        ]
        read_only_fields = ["id", "display_name", "is_active", "teams"]

    def get_teams(self, user) -> list[dict]:
        return [
            {"team": m.team.key_prefix, "role": m.role, "part_time_percent": m.part_time_percent}
            for m in user.memberships.all()
        ]


class UserCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    product_role = serializers.CharField(required=False)


class UserUpdateSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    product_role = serializers.CharField(required=False)
    is_active = serializers.BooleanField(required=False)


class UserViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """`GET /users/?search=ana` matches username and names; `GET /users/ana/` one person.
    Deactivated people are listed only with `?active=all`."""

    serializer_class = UserSerializer
    lookup_field = "username"
    lookup_value_regex = r"[\w.@+-]+"
    filterset_fields: list[str] = []
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        people = (
            User.objects.exclude(product_role=User.ProductRole.INTEGRATION)
            .prefetch_related("memberships__team")
            .order_by("username")
        )
        params = self.request.query_params
        if self.action == "list" and params.get("active") != "all":
            people = people.filter(is_active=True)
        words = (params.get("search") or "").strip()
        if self.action == "list" and words:
            for word in words.split():
                people = people.filter(
                    Q(username__icontains=word)
                    | Q(first_name__icontains=word)
                    | Q(last_name__icontains=word)
                )
        return people

    @extend_schema(parameters=[OpenApiParameter("search", str), OpenApiParameter("active", str)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=UserCreateSerializer, responses={201: UserSerializer})
    def create(self, request, *args, **kwargs):
        """Scrum master: add a person. The answer carries `set_password_url`, a one-time link
        shown only in this answer."""
        data = UserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, link = services.user_create(actor=request.user, **data.validated_data)
        body = {**UserSerializer(user).data, "set_password_url": request.build_absolute_uri(link)}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=UserUpdateSerializer, responses={200: UserSerializer})
    def partial_update(self, request, *args, **kwargs):
        """Scrum master: change names, email, role; `is_active: false` deactivates (history
        keeps the name)."""
        user = self.get_object()
        data = UserUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        active = changes.pop("is_active", None)
        if changes:
            services.user_update(actor=request.user, user=user, changes=changes)
        if active is not None and active != user.is_active:
            services.user_set_active(actor=request.user, user=user, active=active)
        return Response(UserSerializer(self.get_queryset().get(pk=user.pk)).data)

    @extend_schema(request=None, responses={200: dict})
    @action(detail=True, methods=["post"], url_path="password-link")
    def password_link(self, request, username=None):
        """Scrum master: a new one-time set-password link for a person."""
        link = services.user_password_link(actor=request.user, user=self.get_object())
        return Response({"set_password_url": request.build_absolute_uri(link)})


def register(router) -> None:
    router.register("users", UserViewSet, basename="user")


class TokenRequestSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    expiry = serializers.DateTimeField(allow_null=True)


class ObtainTokenView(APIView):
    """POST username + password (form or JSON) -> {"token", "expiry"}. Send it as
    `Authorization: Token <token>`."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    parser_classes = [parsers.JSONParser, parsers.FormParser]
    throttle_classes = [TokenEndpointRateLimits]

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer}, auth=[])
    def post(self, request):
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request,
            username=body.validated_data["username"],
            password=body.validated_data["password"],
        )
        if user is None or not user.is_active:
            return Response(
                {"code": "invalid_credentials", "detail": "Wrong username or password."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        token, instance = services.api_token_issue(user=user)
        return Response({"token": token, "expiry": instance.expiry})


class RevokeTokenView(APIView):
    """POST with the token to revoke it (all=true: every token of this user)."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if request.query_params.get("all") in {"1", "true"}:
            services.api_tokens_revoke_all(user=request.user)
        elif request.auth is not None and hasattr(request.auth, "digest"):
            services.api_token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)
