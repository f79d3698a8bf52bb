"""Real-shaped payloads, written from the facts in shared/reference/integrations.md (the
documented webhook shapes plus what a real Label Studio 1.23.2 / MLflow 3.17.2 sent)."""

import json

PROJECT_ID = 2


def ls_project(finished: int = 430, total: int = 1000) -> dict:
    return {
        "id": PROJECT_ID,
        "title": "Class X",
        "task_number": total,
        "finished_task_number": finished,
        "total_annotations_number": 512,
        "num_tasks_with_annotations": finished,
        "useful_annotation_number": 512,
        "ground_truth_number": 0,
        "skipped_annotations_number": 0,
        "created_by": {"id": 1, "email": "lena@example.com"},  # unknown fields are ignored
    }


def ls_annotation(annotation_id: int, task_id: int, choice: str, **extra) -> dict:
    return {
        "id": annotation_id,
        # Created through the API: no region id.
        "result": [
            {
                "from_name": "label",
                "to_name": "image",
                "type": "choices",
                "value": {"choices": [choice]},
                "origin": "manual",
            }
        ],
        "was_cancelled": False,
        "ground_truth": False,
        "created_at": "2026-11-17T13:52:48.536303Z",
        "updated_at": "2026-11-17T13:52:48.536370Z",
        "lead_time": 37.13,
        "task": task_id,
        "completed_by": 1,
        # Observed on a real 1.23.2, undocumented:
        "unique_id": f"b1c2-{annotation_id}",
        "updated_by": 1,
        "bulk_created": False,
        "project": PROJECT_ID,
        "last_action": None,
        "parent_prediction": None,
        "parent_annotation": None,
        **extra,
    }


def ls_task(task_id: int) -> dict:
    return {
        "id": task_id,
        "data": {"image": f"/data/upload/2/img-{task_id}.jpg"},
        "is_labeled": True,
        "project": PROJECT_ID,
        "total_annotations": 2,
    }


def annotation_created(annotation_id: int, task_id: int, choice: str, finished: int = 430):
    return {
        "action": "ANNOTATION_CREATED",
        "annotation": ls_annotation(annotation_id, task_id, choice),
        "task": ls_task(task_id),
        "project": ls_project(finished),
    }


def annotation_updated(annotation_id: int, task_id: int, choice: str):
    body = annotation_created(annotation_id, task_id, choice)
    body["action"] = "ANNOTATION_UPDATED"
    return body


def annotations_created(items: list[tuple[int, int, str]]):
    """Documented plural shape: `annotation` and `task` are lists."""
    return {
        "action": "ANNOTATIONS_CREATED",
        "annotation": [ls_annotation(a, t, c) for a, t, c in items],
        "task": [ls_task(t) for _, t, _ in items],
        "project": ls_project(),
    }


def annotations_deleted(ids: list[int]):
    """Ids only, no task (as observed)."""
    return {
        "action": "ANNOTATIONS_DELETED",
        "annotations": [{"id": annotation_id} for annotation_id in ids],
        "project": ls_project(),
    }


def tasks_created(count: int = 1000):
    return {
        "action": "TASKS_CREATED",
        "tasks": [{"id": n, "data": {"image": f"img-{n}.jpg"}} for n in range(1, 4)],
        "project": ls_project(finished=0, total=count),
    }


def project_updated(finished: int, total: int = 1000):
    return {"action": "PROJECT_UPDATED", "project": ls_project(finished, total)}


def mlflow_model_version_created(run_id: str = "a1b2c3", tags: dict | None = None) -> bytes:
    """Serialised like MLflow does (default json.dumps separators): the signature is over
    these exact bytes."""
    envelope = {
        "entity": "model_version",
        "action": "created",
        "timestamp": "2026-11-17T10:15:00.123456+00:00",
        "data": {
            "name": "classx-classifier",
            "version": "3",
            "source": f"models:/m-{run_id}",
            "run_id": run_id,
            "tags": tags if tags is not None else {},
            "description": "v1.1 candidate",
        },
    }
    return json.dumps(envelope).encode()


def mlflow_run(run_id: str, ticket: str | None = "ML-1", accuracy: float = 0.913) -> dict:
    tags = [{"key": "mlflow.runName", "value": "train-v1.1"}]
    if ticket:
        tags.append({"key": "sprintplan.ticket", "value": ticket})
    return {
        "run": {
            "info": {
                "run_id": run_id,
                "run_name": "train-v1.1",
                "experiment_id": "7",
                "status": "FINISHED",
                "start_time": 1763370000000,
                "end_time": 1763373600000,
                "artifact_uri": f"mlflow-artifacts:/7/{run_id}/artifacts",
                "lifecycle_stage": "active",
            },
            "data": {
                "metrics": [
                    {
                        "key": "test_accuracy",
                        "value": accuracy,
                        "timestamp": 1763373500000,
                        "step": 9,
                    },
                    {"key": "loss", "value": 0.21, "timestamp": 1763373500000, "step": 9},
                ],
                "params": [{"key": "lr", "value": "0.001"}],
                "tags": tags,
            },
        }
    }


JUNIT_PASS = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="qa-acceptance" tests="3" failures="0" errors="0">
  <testsuite name="classx.acceptance" tests="3" failures="0" errors="0" skipped="0" time="4.2">
    <testcase classname="classx.acceptance" name="test_accuracy_above_90" time="1.1"/>
    <testcase classname="classx.acceptance" name="test_recall_class_x" time="1.2"/>
    <testcase classname="classx.acceptance" name="test_latency" time="1.9">
      <system-out>p95 41 ms</system-out>
    </testcase>
  </testsuite>
</testsuites>
"""

JUNIT_FAIL = b"""<testsuite name="classx.acceptance" tests="3" failures="1" errors="1">
  <testcase classname="classx.acceptance" name="test_accuracy_above_90"/>
  <testcase classname="classx.acceptance" name="test_recall_class_x">
    <failure message="recall 0.81 &lt; 0.85" type="AssertionError">trace</failure>
  </testcase>
  <testcase classname="classx.acceptance" name="test_export">
    <error message="timeout"/>
  </testcase>
</testsuite>
"""

JUNIT_NESTED = b"""<testsuites>
  <testsuite name="outer" tests="3">
    <testsuite name="inner-a" tests="2">
      <testcase classname="a" name="one"/>
      <testcase classname="a" name="two"><skipped/></testcase>
    </testsuite>
    <testsuite name="inner-b" tests="1">
      <testcase classname="b" name="three"/>
    </testsuite>
  </testsuite>
</testsuites>
"""

JUNIT_EMPTY = b'<testsuite name="nothing" tests="0" failures="0" errors="0"></testsuite>'

XML_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<testsuite name="&lol3;" tests="1"><testcase name="x"/></testsuite>
"""
