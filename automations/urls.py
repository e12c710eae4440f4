import importlib.util

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from .login_limit import ThrottledLoginView
from .views import hooks, pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("health", pages.health, name="health"),
    path("hooks/<str:token>", hooks.catch_hook, name="catch_hook"),
    path("w/<slug:slug>/", pages.workspace_home, name="workspace"),
    path("w/<slug:slug>/flows/<int:flow_id>/", pages.flow_detail, name="flow"),
    path("w/<slug:slug>/flows/<int:flow_id>/toggle", pages.toggle_flow, name="toggle_flow"),
    path("w/<slug:slug>/flows/<int:flow_id>/run", pages.run_now, name="run_now"),
    path("w/<slug:slug>/runs/<int:run_id>/", pages.run_detail, name="run"),
    path("", include("automations.urls_runs")),
    path("admin/", admin.site.urls),
    path("", include("automations.urls_builder")),
    path("", include("automations.urls_agency")),
    path("", include("automations.urls_triggers")),
    path("", include("automations.urls_ops")),
]

if settings.SANDBOX_ENABLED:
    urlpatterns += [
        path("sandbox/echo", hooks.echo, name="sandbox_echo"),
    ]
    if importlib.util.find_spec("connectors.sandbox.urls"):
        urlpatterns.append(path("sandbox/", include("connectors.sandbox.urls")))
