"""/api/v1/auth/token/: exchange a username and password for an API token, and revoke it.

Tokens are django-rest-knox tokens: stored hashed, expiring after API_TOKEN_TTL_HOURS,
revocable one by one or all at once. Failed sign-ins count towards django-axes' lockout
(the request is handed to authenticate())."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import parsers, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from sprintplan.api import StrictSerializer
from sprintplan.throttling import AddressThrottle, AnonThrottle

from . import services


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
    throttle_classes = [AnonThrottle, AddressThrottle]

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
