from importlib import import_module

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from . import views

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
router = DefaultRouter()
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
    path("admin/", admin.site.urls),
    # Namespaced so the API's route names (ticket-detail, ...) never shadow the pages'.
    path("api/v1/", include((router.urls, "api"), namespace="api")),
    path("api/v1/auth/token/", obtain_auth_token, name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
handler500 = "sprintplan.views.server_error"
