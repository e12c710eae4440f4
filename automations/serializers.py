"""Runs as plain dicts (already redacted at write time) for the CLI and exports."""


def step_as_dict(s) -> dict:
    return {"path": s.path, "operation": s.operation, "label": s.label, "status": s.status, "input": s.input,
            "output": s.output, "request": s.request, "response": s.response, "error_category": s.error_category,
            "error_message": s.error_message, "attempts": s.attempts, "duration_ms": s.duration_ms,
            "possible_duplicate": s.possible_duplicate}


def run_as_dict(run, steps=True) -> dict:
    d = {"id": run.pk, "flow": run.flow_id, "version": run.version.number if run.version_id else None,
         "status": run.status, "source": run.source, "summary": run.summary, "trigger": run.trigger_payload,
         "error_category": run.error_category, "error_message": run.error_message, "error_step": run.error_step,
         "tasks_used": run.tasks_used, "created": run.created.isoformat(),
         "started_at": run.started_at.isoformat() if run.started_at else None,
         "finished_at": run.finished_at.isoformat() if run.finished_at else None,
         "duration_ms": run.duration_ms, "replay_of": run.replay_of_id, "possible_duplicate": run.possible_duplicate}
    if steps:
        d["steps"] = [step_as_dict(s) for s in run.steps.order_by("position", "id")]
    return d
