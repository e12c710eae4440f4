"""Run history, replay, exports and the dashboard (issue 7); included from automations/urls.py."""
from django.urls import path

from .views import dashboard, runs

urlpatterns = [
    path("w/<slug:slug>/runs/", runs.runs_list, name="runs"),
    path("w/<slug:slug>/runs/export.<str:fmt>", runs.runs_export, name="runs_export"),
    path("w/<slug:slug>/runs/bulk-replay", runs.bulk_replay_start, name="bulk_replay"),
    path("w/<slug:slug>/runs/<int:run_id>/retry", runs.run_retry, name="run_retry"),
    path("w/<slug:slug>/runs/<int:run_id>/replay", runs.run_replay, name="run_replay"),
    path("w/<slug:slug>/runs/<int:run_id>/cancel", runs.run_cancel, name="run_cancel"),
    path("w/<slug:slug>/runs/<int:run_id>/payload.json", runs.run_payload, name="run_payload"),
    path("w/<slug:slug>/replays/<int:job_id>/", runs.replay_job, name="replay_job"),
    path("w/<slug:slug>/dashboard/", dashboard.dashboard, name="dashboard"),
]
