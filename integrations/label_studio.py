"""Label Studio webhook bodies → plain facts, and percent agreement. Pure: no Django.

Unknown fields are ignored: real deliveries carry more than the documentation lists.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations


class PayloadError(ValueError):
    """The body is not a Label Studio webhook we can read."""


@dataclass(frozen=True)
class AnnotationFact:
    annotation_id: int
    task_id: int
    labels: tuple[str, ...]
    was_cancelled: bool


@dataclass(frozen=True)
class Event:
    action: str
    project_id: int
    task_number: int | None
    finished_task_number: int | None
    annotations: tuple[AnnotationFact, ...] = ()
    deleted_annotation_ids: tuple[int, ...] = ()


def parse(payload: object) -> Event:
    if not isinstance(payload, dict):
        raise PayloadError("body must be a JSON object")
    action = payload.get("action")
    if not isinstance(action, str) or not action:
        raise PayloadError("missing action")
    project = payload.get("project")
    project_id = _project_id(project, payload)
    counters = project if isinstance(project, dict) else {}
    return Event(
        action=action,
        project_id=project_id,
        task_number=_int_or_none(counters.get("task_number")),
        finished_task_number=_int_or_none(counters.get("finished_task_number")),
        annotations=tuple(_annotations(payload)),
        deleted_annotation_ids=tuple(_deleted_ids(payload)),
    )


def _project_id(project: object, payload: dict) -> int:
    candidate = project.get("id") if isinstance(project, dict) else project
    if candidate is None:  # fall back to the task's project
        task = payload.get("task")
        task = task[0] if isinstance(task, list) and task else task
        candidate = task.get("project") if isinstance(task, dict) else None
    value = _int_or_none(candidate)
    if value is None:
        raise PayloadError("missing project.id")
    return value


def _annotations(payload: dict) -> Iterable[AnnotationFact]:
    if payload.get("action") not in {
        "ANNOTATION_CREATED",
        "ANNOTATIONS_CREATED",
        "ANNOTATION_UPDATED",
    }:
        return
    raw = payload.get("annotation")
    items = raw if isinstance(raw, list) else [raw]
    task = payload.get("task")
    default_task = task.get("id") if isinstance(task, dict) else None
    for item in items:
        if not isinstance(item, dict):
            raise PayloadError("annotation must be an object")
        annotation_id = _int_or_none(item.get("id"))
        task_id = _int_or_none(item.get("task", default_task))
        if annotation_id is None or task_id is None:
            raise PayloadError("annotation needs an id and a task")
        yield AnnotationFact(
            annotation_id=annotation_id,
            task_id=task_id,
            labels=chosen_labels(item.get("result")),
            was_cancelled=bool(item.get("was_cancelled", False)),
        )


def _deleted_ids(payload: dict) -> Iterable[int]:
    if payload.get("action") != "ANNOTATIONS_DELETED":
        return
    for item in payload.get("annotations") or []:
        value = _int_or_none(item.get("id") if isinstance(item, dict) else item)
        if value is not None:
            yield value


def chosen_labels(result: object) -> tuple[str, ...]:
    """The labels an annotation chose (choices, labels, rectanglelabels ...), sorted; regions
    are compared by label only, positions are ignored."""
    chosen: set[str] = set()
    for region in result if isinstance(result, list) else []:
        value = region.get("value") if isinstance(region, dict) else None
        if not isinstance(value, dict):
            continue
        for key, items in value.items():
            if (key == "choices" or key.endswith("labels")) and isinstance(items, list):
                chosen.update(str(item) for item in items)
    return tuple(sorted(chosen))


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Agreement:
    value: float
    tasks_compared: int


def percent_agreement(annotations: Iterable[tuple[int, tuple[str, ...]]]) -> Agreement | None:
    """Mean over tasks with ≥ 2 annotations of the share of annotator pairs that chose the
    same labels. None when no task has two annotations yet."""
    by_task: dict[int, list[tuple[str, ...]]] = defaultdict(list)
    for task_id, labels in annotations:
        by_task[task_id].append(tuple(labels))
    scores = []
    for labels in by_task.values():
        pairs = list(combinations(labels, 2))
        if pairs:
            scores.append(sum(a == b for a, b in pairs) / len(pairs))
    if not scores:
        return None
    return Agreement(value=sum(scores) / len(scores), tasks_compared=len(scores))
