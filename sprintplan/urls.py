from importlib import import_module

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.api import ObtainTokenView, RevokeTokenView

from . import views
from .api import ApiRouter

# Each app registers its own endpoints (`register(router)` in its api module).
API_MODULES = [
    "teams.api",
    "planning.api",
    "tickets.api",
    "dependencies.api",
    "quality.api",
    "integrations.api",
    "programs.api",
]
SWAGGER_UI_STYLE_HASH = "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"
router = ApiRouter()
for module in API_MODULES:
    import_module(module).register(router)

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("planning.urls")),
    path("", include("tickets.urls")),
    path("", include("quality.urls")),
    path("", include("integrations.urls")),
    path("", include("teams.urls")),
    path("", include("programs.urls")),
    path(settings.ADMIN_PATH, admin.site.urls),
    # Namespaced so the API's route names (ticket-detail, ...) never shadow the pages'.
    path("api/v1/", include((router.urls, "api"), namespace="api")),
    path("api/v1/auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("api/v1/auth/token/revoke/", RevokeTokenView.as_view(), name="api-token-revoke"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    # Swagger UI adds one fixed <style> element of its own; only that one is let through.
    path(
        "api/docs/",
        csp_update({"style-src": [SWAGGER_UI_STYLE_HASH]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
]
