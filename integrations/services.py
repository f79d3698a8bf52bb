"""Writes for integrations: setup, receiving deliveries (check → store → queue), processing.

A delivery is checked synchronously (authentication, parse, known project / ticket) so bad
input gets a clear 4xx and stores only a rejected-delivery record; an accepted delivery is
stored raw, answered at once, and processed after commit by a Celery task (in-process when
there is no broker). Integrations write through their own service user, so the ordinary
permission rules decide what each one may feed.
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from accounts.policy import (
    ensure_can_link_external_project,
    ensure_can_manage_integrations,
)
from accounts.services import api_token_issue
from quality import selectors as quality_selectors
from quality import services as quality_services
from quality.models import Criterion, Evidence
from sprintplan.errors import Conflict, DomainError, InvalidInput, PermissionDenied, StaleVersion
from teams.models import Membership, Team
from tickets.models import Ticket
from tickets.services import ticket_update

from . import junit, label_studio, mlflow, signatures
from .models import Delivery, Integration, LabelStudioAnnotation, LabelStudioProject

logger = logging.getLogger(__name__)

TOKEN_HEADER = "X-Sprintplan-Token"
# Stored with each delivery (never the token header itself).
KEPT_HEADERS = (
    "Content-Type",
    "Content-Length",
    "User-Agent",
    "X-MLflow-Delivery-Id",
    "X-MLflow-Timestamp",
    "X-MLflow-Signature",
)
REJECTED_BODY_LIMIT = 2000
CENTS = Decimal("0.01")


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"


# --- setup --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewIntegration:
    integration: Integration
    secret: str  # shown once
    api_token: str  # API token of the service user, for POST /api/v1/evidence/; shown once


@transaction.atomic
def integration_create(
    *, actor, name: str, kind: str, team: Team, config: dict | None = None
) -> NewIntegration:
    ensure_can_manage_integrations(actor)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("An integration needs a name.", field="name")
    if kind not in Integration.Kind.values:
        raise InvalidInput(
            f"Unknown integration kind {kind!r}; use {', '.join(Integration.Kind.values)}.",
            field="kind",
        )
    if Integration.objects.filter(name=name).exists():
        raise Conflict(f"An integration named {name!r} exists already.", field="name")
    config = _checked_config(kind, config or {})
    user = User(
        username=_service_username(name),
        first_name=name,
        last_name="(integration)",
        product_role=User.ProductRole.INTEGRATION,
    )
    user.set_unusable_password()
    user.save()
    Membership.objects.create(user=user, team=team, role=Membership.Role.MEMBER)
    secret = signatures.new_secret()
    integration = Integration.objects.create(
        name=name,
        kind=kind,
        team=team,
        service_user=user,
        secret=secret,
        config=config,
        created_by=actor,
    )
    token, _ = api_token_issue(user=user, never_expires=True)
    return NewIntegration(integration, secret, token)


@transaction.atomic
def integration_rotate_secret(*, actor, integration: Integration) -> str:
    ensure_can_manage_integrations(actor)
    secret = signatures.new_secret()
    Integration.objects.filter(pk=integration.pk).update(secret=secret)
    return secret


def _service_username(name: str) -> str:
    base = f"integration-{slugify(name)[:100]}"
    username, n = base, 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}-{n}"
    return username


def _checked_config(kind: str, config: dict) -> dict:
    if not isinstance(config, dict):
        raise InvalidInput("config must be a JSON object.", field="config")
    if kind == Integration.Kind.MLFLOW:
        uri = str(config.get("tracking_uri") or "")
        if not uri.startswith(("http://", "https://")):
            raise InvalidInput(
                "MLflow needs config.tracking_uri, e.g. http://mlflow:5000.", field="config"
            )
        config = {**config, "tracking_uri": uri.rstrip("/")}
    return config


@transaction.atomic
def label_studio_project_link(
    *, actor, integration: Integration, project_id: int, ticket: Ticket
) -> LabelStudioProject:
    """Label Studio project `project_id` feeds `ticket` (progress and agreement)."""
    ensure_can_link_external_project(actor, ticket)
    if integration.kind != Integration.Kind.LABEL_STUDIO:
        raise InvalidInput(f"{integration.name} is not a Label Studio integration.", field="id")
    if ticket.team_id != integration.team_id:
        raise InvalidInput(
            f"{integration.name} feeds team {integration.team.name}; {ticket.key} belongs to "
            f"{ticket.team.name}.",
            field="ticket",
        )
    if ticket.type != Ticket.Type.LABELING_BATCH:
        raise InvalidInput(f"{ticket.key} is not a labeling batch.", field="ticket")
    link, created = LabelStudioProject.objects.get_or_create(
        integration=integration, project_id=project_id, defaults={"ticket": ticket}
    )
    if not created and link.ticket_id != ticket.pk:
        raise Conflict(
            f"Label Studio project {project_id} already feeds {link.ticket.key}.",
            field="project_id",
        )
    return link


# --- receiving ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """What a synchronous check learned about a delivery it accepts."""

    dedup_key: str
    event: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Incoming:
    headers: dict[str, str]
    body: bytes
    params: dict[str, str]

    def header(self, name: str) -> str | None:
        """Header names are case-insensitive (Django reports X-MLflow-… as X-Mlflow-…)."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


@dataclass(frozen=True)
class Received:
    delivery: Delivery
    duplicate: bool


def receive(*, integration: Integration, incoming: Incoming) -> Received:
    """Check, then store; raises a DomainError (after recording the rejection) on bad input."""
    check = CHECKS[integration.kind]
    try:
        checked = check(integration, incoming)
    except DomainError as error:
        _record_rejection(integration, incoming, error)
        raise
    return _store_accepted(integration, incoming, checked)


def _record_rejection(integration: Integration, incoming: Incoming, error: DomainError) -> None:
    with transaction.atomic():
        Delivery.objects.create(
            integration=integration,
            headers=_kept_headers(incoming),
            body=incoming.body[:REJECTED_BODY_LIMIT].decode("utf-8", errors="replace"),
            status=Delivery.Status.REJECTED,
            error=f"{error.code}: {error.message}",
        )
        Integration.objects.filter(pk=integration.pk).update(rejected_count=F("rejected_count") + 1)


def _store_accepted(integration: Integration, incoming: Incoming, checked: Checked) -> Received:
    existing = Delivery.objects.filter(integration=integration, dedup_key=checked.dedup_key).first()
    if existing:
        return Received(existing, duplicate=True)
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(
                integration=integration,
                headers=_kept_headers(incoming),
                body=incoming.body.decode("utf-8", errors="replace"),
                dedup_key=checked.dedup_key,
                event=checked.event[:60],
                params=checked.params,
                status=Delivery.Status.ACCEPTED,
            )
            transaction.on_commit(lambda: request_processing(delivery.pk))
    except IntegrityError:  # the same delivery arrived twice at once
        existing = Delivery.objects.get(integration=integration, dedup_key=checked.dedup_key)
        return Received(existing, duplicate=True)
    return Received(delivery, duplicate=False)


def _kept_headers(incoming: Incoming) -> dict[str, str]:
    kept = {name: incoming.header(name) for name in KEPT_HEADERS}
    return {name: value[:500] for name, value in kept.items() if value is not None}


def _body_hash(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidInput(f"Body is not valid JSON: {error}.", code="malformed_json") from None


def _require_token(integration: Integration, incoming: Incoming) -> None:
    if not signatures.token_matches(integration.secret, incoming.header(TOKEN_HEADER)):
        raise NotAuthenticated(f"Missing or wrong {TOKEN_HEADER} header.")


def check_label_studio(integration: Integration, incoming: Incoming) -> Checked:
    _require_token(integration, incoming)
    try:
        event = label_studio.parse(_json(incoming.body))
    except label_studio.PayloadError as error:
        raise InvalidInput(f"Not a Label Studio webhook: {error}.", code="malformed") from None
    if not LabelStudioProject.objects.filter(
        integration=integration, project_id=event.project_id
    ).exists():
        raise InvalidInput(
            f"Label Studio project {event.project_id} is not linked to a ticket.",
            code="unknown_project",
            field="project.id",
        )
    return Checked(dedup_key=_body_hash(incoming.body), event=event.action)


def check_mlflow(integration: Integration, incoming: Incoming) -> Checked:
    delivery_id = incoming.header("X-MLflow-Delivery-Id")
    problem = signatures.mlflow_problem(
        secret=integration.secret,
        delivery_id=delivery_id,
        timestamp=incoming.header("X-MLflow-Timestamp"),
        signature=incoming.header("X-MLflow-Signature"),
        body=incoming.body,
        now=time.time(),
    )
    if problem:
        raise NotAuthenticated(f"MLflow delivery refused: {problem}.", code="bad_signature")
    if Delivery.objects.filter(integration=integration, dedup_key=delivery_id).exists():
        raise Conflict(f"Delivery {delivery_id} was received already.", code="replayed")
    payload = _json(incoming.body)
    try:
        event = mlflow.event_name(payload)
        if event == "model_version.created":
            version = mlflow.parse_model_version(payload)
            if version.tags.get(mlflow.TICKET_TAG):
                _own_ticket(integration, version.tags[mlflow.TICKET_TAG])
    except mlflow.PayloadError as error:
        raise InvalidInput(f"Not an MLflow webhook: {error}.", code="malformed") from None
    return Checked(dedup_key=delivery_id, event=event)


def check_junit(integration: Integration, incoming: Incoming) -> Checked:
    _require_token(integration, incoming)
    ticket = _own_ticket(integration, incoming.params.get("ticket", ""))
    try:
        result = junit.parse(incoming.body)
    except junit.JUnitError as error:
        raise InvalidInput(f"Not a JUnit report: {error}.", code="malformed_xml") from None
    criteria = _test_suite_criteria(ticket, incoming.params.get("criterion", ""))
    codes = [criterion.code for criterion in criteria]
    return Checked(
        dedup_key=_body_hash(ticket.key.encode(), ",".join(codes).encode(), incoming.body),
        event=f"junit {'passed' if result.passed else 'failed'}",
        params={"ticket": ticket.key, "criteria": [c.pk for c in criteria]},
    )


def _own_ticket(integration: Integration, key: str) -> Ticket:
    ticket = Ticket.objects.select_related("team").filter(key=key).first() if key else None
    if ticket is None:
        raise InvalidInput(f"Unknown ticket {key!r}.", code="unknown_ticket", field="ticket")
    if ticket.team_id != integration.team_id:
        raise PermissionDenied(
            f"{integration.name} feeds team {integration.team.name}; {ticket.key} is not theirs.",
            field="ticket",
        )
    return ticket


def _test_suite_criteria(ticket: Ticket, code: str) -> list[Criterion]:
    if code:
        named = [c for c in quality_selectors.criteria_in_force(ticket=ticket) if c.code == code]
        if not named:
            raise InvalidInput(
                f"No criterion {code!r} in force.", code="unknown_criterion", field="criterion"
            )
        if named[0].kind != Criterion.Kind.TEST_SUITE:
            raise InvalidInput(
                f"“{named[0].text}” is a {named[0].get_kind_display().lower()}, not a test "
                "suite: a JUnit report cannot be its evidence.",
                code="wrong_kind",
                field="criterion",
            )
    found = quality_selectors.applicable_criteria(ticket, kind=Criterion.Kind.TEST_SUITE)
    found = [criterion for criterion in found if not code or criterion.code == code]
    if not found:
        raise InvalidInput(
            f"No test-suite criterion in force applies to {ticket.key}.",
            code="no_criterion",
            field="criterion",
        )
    return found


CHECKS: dict[str, Callable[[Integration, Incoming], Checked]] = {
    Integration.Kind.LABEL_STUDIO: check_label_studio,
    Integration.Kind.MLFLOW: check_mlflow,
    Integration.Kind.JUNIT: check_junit,
}


# --- processing ---------------------------------------------------------------------------


def request_processing(delivery_id: int) -> None:
    """Queue the processing task; in-process when no broker. Never raises: an accepted
    delivery that was not queued is picked up by `process_pending_deliveries`."""
    from .tasks import process_delivery

    try:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            process_delivery.apply(args=[delivery_id])
        else:
            process_delivery.apply_async(args=[delivery_id])
    except Exception:
        logger.warning(
            "Could not process delivery %s now; catch-up will.", delivery_id, exc_info=True
        )


def delivery_process(delivery_id: int) -> Delivery:
    """Apply one accepted delivery. Idempotent: anything but `accepted` is left alone."""
    try:
        with transaction.atomic():
            delivery = (
                Delivery.objects.select_for_update()
                .select_related("integration__service_user", "integration__team")
                .get(pk=delivery_id)
            )
            if delivery.status != Delivery.Status.ACCEPTED:
                return delivery
            note = PROCESSORS[delivery.integration.kind](delivery)
            _finish(delivery, Delivery.Status.PROCESSED, note)
    except (DomainError, ValueError, mlflow.TrackingError) as error:
        _finish_failed(delivery_id, str(getattr(error, "message", error)))
    except Exception as error:
        logger.exception("Processing delivery %s failed.", delivery_id)
        _finish_failed(delivery_id, f"internal error: {type(error).__name__}")
    return Delivery.objects.get(pk=delivery_id)


def _finish(delivery: Delivery, status: str, note: str) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status, error=note, processed_at=timezone.now()
    )


def _finish_failed(delivery_id: int, error: str) -> None:
    Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.ACCEPTED).update(
        status=Delivery.Status.FAILED, error=error, processed_at=timezone.now()
    )


def pending_delivery_ids(older_than_seconds: float = 60) -> list[int]:
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        Delivery.objects.filter(status=Delivery.Status.ACCEPTED, received_at__lt=cutoff)
        .order_by("id")
        .values_list("id", flat=True)[:500]
    )


# Label Studio ------------------------------------------------------------------------------


def _process_label_studio(delivery: Delivery) -> str:
    integration = delivery.integration
    event = label_studio.parse(json.loads(delivery.body))
    link = LabelStudioProject.objects.select_related("ticket__team").get(
        integration=integration, project_id=event.project_id
    )
    notes = []
    if event.annotations or event.deleted_annotation_ids:
        _apply_annotations(link, event)
        notes.append(_record_agreement(integration, link))
    if event.task_number and event.finished_task_number is not None:
        notes.append(_update_progress(integration, link.ticket, event))
    return "; ".join(note for note in notes if note) or f"{event.action}: nothing to update"


def _apply_annotations(link: LabelStudioProject, event: label_studio.Event) -> None:
    for fact in event.annotations:
        LabelStudioAnnotation.objects.update_or_create(
            project=link,
            annotation_id=fact.annotation_id,
            defaults={
                "task_id": fact.task_id,
                "labels": list(fact.labels),
                "was_cancelled": fact.was_cancelled,
            },
        )
    if event.deleted_annotation_ids:
        LabelStudioAnnotation.objects.filter(
            project=link, annotation_id__in=event.deleted_annotation_ids
        ).delete()


def _record_agreement(integration: Integration, link: LabelStudioProject) -> str:
    rows = LabelStudioAnnotation.objects.filter(project=link, was_cancelled=False).values_list(
        "task_id", "labels"
    )
    agreement = label_studio.percent_agreement((task, tuple(labels)) for task, labels in rows)
    if agreement is None:
        return "no task has two annotations yet"
    ticket = link.ticket
    criteria = quality_selectors.applicable_criteria(
        ticket, kind=Criterion.Kind.METRIC, metric_key="iaa"
    )
    for criterion in criteria:
        quality_services.evidence_record(
            actor=integration.service_user,
            criterion=criterion,
            ticket=ticket,
            value=round(agreement.value, 6),
            source=Evidence.Source.LABEL_STUDIO,
            recorded_by_name=integration.name,
            details={
                "project_id": link.project_id,
                "tasks_compared": agreement.tasks_compared,
                "method": "percent agreement on chosen labels",
            },
        )
    return f"iaa {agreement.value:.4f} over {agreement.tasks_compared} tasks"


def _update_progress(integration: Integration, ticket: Ticket, event: label_studio.Event) -> str:
    for _attempt in range(3):  # a person may edit the ticket at the same moment
        current = Ticket.objects.select_related("team").get(pk=ticket.pk)
        if current.is_done:
            return f"{current.key} is done; progress left alone"
        share = min(event.finished_task_number, event.task_number) / event.task_number
        progress = min(current.size, (current.size * Decimal(str(share))).quantize(CENTS))
        if progress == current.progress:
            return ""
        try:
            ticket_update(
                ticket=current,
                actor=integration.service_user,
                changes={"progress": progress},
                expected_version=current.version,
            )
        except StaleVersion:
            continue
        return f"{current.key} progress {progress}"
    raise Conflict(f"{ticket.key} kept changing; progress not updated.")


# MLflow ------------------------------------------------------------------------------------


def _process_mlflow(delivery: Delivery) -> str:
    integration = delivery.integration
    payload = json.loads(delivery.body)
    event = mlflow.event_name(payload)
    if event != "model_version.created":
        return f"{event}: ignored"
    version = mlflow.parse_model_version(payload)
    run = None
    if version.run_id:
        tracking_uri = integration.config.get("tracking_uri", "")
        if not tracking_uri:
            raise InvalidInput(f"{integration.name} has no tracking_uri configured.")
        run = mlflow.fetch_run(tracking_uri, version.run_id)
    key = version.tags.get(mlflow.TICKET_TAG) or (run.tags.get(mlflow.TICKET_TAG) if run else "")
    if not key:
        raise InvalidInput(
            f"Model {version.name} v{version.version} and its run carry no {mlflow.TICKET_TAG} tag."
        )
    ticket = _own_ticket(integration, key)
    actor = integration.service_user
    if version.run_id:
        quality_services.artifact_record(
            actor=actor,
            ticket=ticket,
            kind="model_version",
            name=version.name,
            version=version.version,
            run_id=version.run_id,
            uri=version.source[:500],
        )
    recorded = _record_run_metrics(integration, ticket, version, run) if run else []
    metrics = ", ".join(recorded) or "no metric matches a criterion"
    return f"{ticket.key}: model {version.name} v{version.version}; {metrics}"


def _record_run_metrics(integration, ticket, version, run: mlflow.Run) -> list[str]:
    recorded = []
    tracking_uri = integration.config.get("tracking_uri", "")
    url = f"{tracking_uri}/#/experiments/{run.experiment_id}/runs/{run.run_id}"
    for key, value in sorted(run.metrics.items()):
        criteria = quality_selectors.applicable_criteria(
            ticket, kind=Criterion.Kind.METRIC, metric_key=key
        )
        for criterion in criteria:
            quality_services.evidence_record(
                actor=integration.service_user,
                criterion=criterion,
                ticket=ticket,
                value=value,
                source=Evidence.Source.MLFLOW,
                recorded_by_name=integration.name,
                source_url=url[:500],
                details={
                    "run_id": run.run_id,
                    "run_status": run.status,
                    "model": version.name,
                    "model_version": version.version,
                },
            )
            recorded.append(f"{key}={value:g}")
    return recorded


# JUnit -------------------------------------------------------------------------------------


def _process_junit(delivery: Delivery) -> str:
    integration = delivery.integration
    result = junit.parse(delivery.body.encode("utf-8"))
    ticket = Ticket.objects.select_related("team").get(key=delivery.params["ticket"])
    criteria = Criterion.objects.filter(pk__in=delivery.params["criteria"]).select_related(
        "team", "ticket"
    )
    for criterion in criteria:
        quality_services.evidence_record(
            actor=integration.service_user,
            criterion=criterion,
            ticket=ticket,
            passed=result.passed,
            source=Evidence.Source.JUNIT,
            recorded_by_name=integration.name,
            details=result.as_details(),
        )
    verdict = "passed" if result.passed else f"failed ({len(result.failing_tests)} failing)"
    return f"{ticket.key}: {result.tests} tests, {verdict}"


PROCESSORS: dict[str, Callable[[Delivery], str]] = {
    Integration.Kind.LABEL_STUDIO: _process_label_studio,
    Integration.Kind.MLFLOW: _process_mlflow,
    Integration.Kind.JUNIT: _process_junit,
}
