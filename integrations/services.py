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
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from accounts.policy import (
    can_record_evidence,
    can_view_deliveries,
    ensure_can_link_external_project,
    ensure_can_manage_integrations,
)
from accounts.services import api_token_issue, api_tokens_revoke_all
from quality import selectors as quality_selectors
from quality import services as quality_services
from quality.models import Criterion, Evidence
from sprintplan import redis_guard
from sprintplan.errors import Conflict, DomainError, InvalidInput, PermissionDenied, StaleVersion
from teams.models import Membership, Team
from teams.services import membership_set
from tickets.models import Ticket
from tickets.services import ticket_update

from . import dvc, junit, label_studio, mlflow, prodigy, signatures, wandb
from .models import (
    Delivery,
    Integration,
    LabelStudioAnnotation,
    LabelStudioProject,
    ProdigyDataset,
)

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


def _ensure_can_see_deliveries(actor, integration: Integration) -> None:
    if not can_view_deliveries(actor, integration.team_id):
        raise PermissionDenied(
            "Only the Scrum master or the lead of the team an integration feeds may see and "
            "re-process its deliveries."
        )


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
    _check_name_free(name)
    config = _checked_config(kind, config or {})
    user = User(
        username=_service_username(name),
        first_name=name,
        last_name="(integration)",
        product_role=User.ProductRole.INTEGRATION,
    )
    user.set_unusable_password()
    user.save()
    membership_set(actor=actor, team=team, user=user, role=Membership.Role.MEMBER)
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


def _check_name_free(name: str, *, other_than: Integration | None = None) -> None:
    taken = Integration.objects.filter(name=name, deleted_at=None)
    if other_than is not None:
        taken = taken.exclude(pk=other_than.pk)
    if taken.exists():
        raise Conflict(f"An integration named {name!r} exists already.", field="name")


EDITABLE = ("name", "config", "is_active")


@transaction.atomic
def integration_update(*, actor, integration: Integration, changes: dict) -> Integration:
    """Rename, correct the configuration (a mistyped tracking URI), pause or resume. The
    kind and the team stay: a different team or tool is a new integration."""
    ensure_can_manage_integrations(actor)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidInput(
            f"An integration's {', '.join(unknown)} cannot be changed; set up a new one.",
            field=unknown[0],
        )
    integration = Integration.objects.select_for_update().get(pk=integration.pk)
    if integration.deleted_at:
        raise InvalidInput(f"{integration.name} was deleted.", code="deleted")
    if "name" in changes:
        name = str(changes["name"] or "").strip()
        if not name:
            raise InvalidInput("An integration needs a name.", field="name")
        _check_name_free(name, other_than=integration)
        integration.name = name
    if "config" in changes:
        config = changes["config"] or {}
        if integration.kind == Integration.Kind.WANDB and isinstance(config, dict):
            # Leaving the key out keeps the one stored (it is never shown back).
            config = {**config}
            if not config.get("api_key") and integration.config.get("api_key"):
                config["api_key"] = integration.config["api_key"]
        integration.config = _checked_config(integration.kind, config)
    if "is_active" in changes:
        if not isinstance(changes["is_active"], bool):
            raise InvalidInput("is_active must be true or false.", field="is_active")
        integration.is_active = changes["is_active"]
    integration.save(update_fields=["name", "config", "is_active"])
    return integration


@transaction.atomic
def integration_delete(*, actor, integration: Integration) -> None:
    """Hidden and refusing deliveries from now on; its deliveries, the evidence and the
    artifacts it recorded stay (they name it). Its service user can no longer act."""
    ensure_can_manage_integrations(actor)
    integration = Integration.objects.select_for_update().get(pk=integration.pk)
    if integration.deleted_at:
        return
    Integration.objects.filter(pk=integration.pk).update(deleted_at=timezone.now(), is_active=False)
    User.objects.filter(pk=integration.service_user_id).update(is_active=False)
    api_tokens_revoke_all(user=integration.service_user)


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
    if kind == Integration.Kind.WANDB:
        config = _checked_wandb_config(config)
    return config


def _checked_wandb_config(config: dict) -> dict:
    """Both optional: without an API URL run summaries are not read. Only this URL is ever
    contacted; a delivery's body never chooses where Sprintplan connects."""
    unknown = sorted(set(config) - {"api_url", "api_key"})
    if unknown:
        raise InvalidInput(f"Unknown W&B setting: {', '.join(unknown)}.", field="config")
    url = str(config.get("api_url") or "").strip().rstrip("/")
    if url and not url.startswith(("http://", "https://")):
        raise InvalidInput(
            "The W&B API URL must start with http:// or https://, e.g. https://api.wandb.ai.",
            field="config",
        )
    key = str(config.get("api_key") or "").strip()
    return {k: v for k, v in (("api_url", url), ("api_key", key)) if v}


@dataclass(frozen=True)
class LinkPreview:
    """What linking a project to a ticket will do to its progress, said before doing it."""

    ticket: Ticket
    project_id: int
    current: Decimal  # the ticket's progress now
    last_reported: tuple[int, int] | None  # (finished, tasks) Label Studio last sent, if any
    would_be: Decimal | None  # progress from that report
    replaces_ticket: Ticket | None  # the project fed this ticket until now

    @property
    def lowers(self) -> bool:
        return self.would_be is not None and self.would_be < self.current


def label_studio_link_preview(
    *, actor, integration: Integration, project_id: int, ticket: Ticket
) -> LinkPreview:
    """Checks the link as `label_studio_project_link` would, and says what it will do."""
    _check_label_studio_link(actor, integration, ticket)
    existing = (
        LabelStudioProject.objects.select_related("ticket")
        .filter(integration=integration, project_id=project_id)
        .first()
    )
    reported = _last_label_studio_counters(integration, project_id)
    would_be = None
    if reported and reported[1]:
        finished, tasks = reported
        share = Decimal(str(min(finished, tasks) / tasks))
        would_be = min(ticket.size, (ticket.size * share).quantize(CENTS))
    return LinkPreview(
        ticket=ticket,
        project_id=project_id,
        current=ticket.progress,
        last_reported=reported,
        would_be=would_be,
        replaces_ticket=existing.ticket if existing and existing.ticket_id != ticket.pk else None,
    )


def _last_label_studio_counters(integration: Integration, project_id: int):
    """Project counters from the newest stored delivery about this project, if any (also
    one refused because the project was not linked yet, if its sender was authenticated)."""
    rows = Delivery.objects.filter(integration=integration, authenticated=True).order_by(
        "-received_at", "-id"
    )
    for body in rows.values_list("body", flat=True)[:50]:
        try:
            event = label_studio.parse(json.loads(body))
        except (ValueError, label_studio.PayloadError):
            continue
        if event.project_id == project_id and event.task_number:
            return (event.finished_task_number or 0, event.task_number)
    return None


def _check_label_studio_link(actor, integration: Integration, ticket: Ticket) -> None:
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


@transaction.atomic
def label_studio_project_link(
    *,
    actor,
    integration: Integration,
    project_id: int,
    ticket: Ticket,
    keep_manual_progress: bool = True,
    replace: bool = False,
) -> LabelStudioProject:
    """Label Studio project `project_id` feeds `ticket` (progress and agreement). With
    `keep_manual_progress` Label Studio's count only ever raises the ticket's progress;
    `replace` moves a project that feeds another ticket to this one."""
    _check_label_studio_link(actor, integration, ticket)
    link, created = LabelStudioProject.objects.select_for_update().get_or_create(
        integration=integration,
        project_id=project_id,
        defaults={"ticket": ticket, "keep_manual_progress": keep_manual_progress},
    )
    if created:
        return link
    if link.ticket_id != ticket.pk and not replace:
        raise Conflict(
            f"Label Studio project {project_id} already feeds {link.ticket.key}.",
            field="project_id",
        )
    if link.ticket_id != ticket.pk:
        ensure_can_link_external_project(actor, link.ticket)
        # Annotations counted for the old ticket's agreement do not carry over.
        link.annotations.all().delete()
    link.ticket, link.keep_manual_progress = ticket, keep_manual_progress
    link.save(update_fields=["ticket", "keep_manual_progress"])
    return link


@transaction.atomic
def label_studio_project_unlink(*, actor, link: LabelStudioProject) -> None:
    """The project no longer feeds its ticket; what it already wrote stays."""
    ensure_can_link_external_project(actor, link.ticket)
    link.delete()


@transaction.atomic
def prodigy_dataset_link(
    *,
    actor,
    integration: Integration,
    dataset: str,
    ticket: Ticket,
    batch_size: int | None = None,
    keep_manual_progress: bool = True,
) -> ProdigyDataset:
    """Exports of Prodigy dataset `dataset` feed `ticket` (progress and agreement)."""
    ensure_can_link_external_project(actor, ticket)
    if integration.kind != Integration.Kind.PRODIGY:
        raise InvalidInput(f"{integration.name} is not a Prodigy integration.", field="id")
    dataset = (dataset or "").strip()
    if not dataset:
        raise InvalidInput("Name the Prodigy dataset.", field="dataset")
    if ticket.team_id != integration.team_id:
        raise InvalidInput(
            f"{integration.name} feeds team {integration.team.name}; {ticket.key} belongs to "
            f"{ticket.team.name}.",
            field="ticket",
        )
    if ticket.type != Ticket.Type.LABELING_BATCH:
        raise InvalidInput(f"{ticket.key} is not a labeling batch.", field="ticket")
    if batch_size is not None and batch_size < 1:
        raise InvalidInput(
            "The batch size is a number of examples, at least 1.", field="batch_size"
        )
    link, created = ProdigyDataset.objects.get_or_create(
        integration=integration,
        dataset=dataset,
        defaults={
            "ticket": ticket,
            "batch_size": batch_size,
            "keep_manual_progress": keep_manual_progress,
        },
    )
    if not created and link.ticket_id != ticket.pk:
        raise Conflict(
            f"Prodigy dataset {dataset!r} already feeds {link.ticket.key}.", field="dataset"
        )
    return link


# --- receiving ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """What a synchronous check learned about a delivery it accepts. `body`, when set, is
    stored instead of the raw body (a multipart upload is kept as one JSON document)."""

    dedup_key: str
    event: str
    params: dict = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class Incoming:
    headers: dict[str, str]
    body: bytes
    params: dict[str, str]
    # Multipart form fields and files by name (text), when the request was multipart.
    parts: dict[str, list[str]] | None = None
    route: str = ""  # a second receiver of the same kind (W&B run summaries)

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
    """Count every rejection; keep only the newest few as rows, so forged or broken requests
    can neither fill the database nor push accepted deliveries out of view."""
    with transaction.atomic():
        Delivery.objects.create(
            integration=integration,
            headers=_kept_headers(incoming),
            body=incoming.body[:REJECTED_BODY_LIMIT].decode("utf-8", errors="replace"),
            status=Delivery.Status.REJECTED,
            error=f"{error.code}: {error.message}",
            authenticated=not isinstance(error, NotAuthenticated),
        )
        rejection_count(integration=integration)
        _trim_rejected_sample(integration)


def rejected_sample_size() -> int:
    return int(getattr(settings, "INTEGRATIONS_REJECTED_SAMPLE", 50))


def _trim_rejected_sample(integration: Integration) -> None:
    rejected = Delivery.objects.filter(integration=integration, status=Delivery.Status.REJECTED)
    keep = rejected.order_by("-received_at", "-id").values_list("id", flat=True)[
        : rejected_sample_size()
    ]
    rejected.exclude(id__in=list(keep)).delete()


def rejection_count(*, integration: Integration) -> None:
    """A refused request (also one too large to read) counts, stored or not."""
    Integration.objects.filter(pk=integration.pk).update(rejected_count=F("rejected_count") + 1)


def unknown_integration_seen(*, integration_id: int, kind: str) -> None:
    """Nothing to count it against; logged so an admin can spot probing."""
    logger.warning(
        "Webhook for unknown or inactive %s integration %s refused.", kind, integration_id
    )


def _store_accepted(integration: Integration, incoming: Incoming, checked: Checked) -> Received:
    existing = Delivery.objects.filter(integration=integration, dedup_key=checked.dedup_key).first()
    if existing:
        return Received(existing, duplicate=True)
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(
                integration=integration,
                headers=_kept_headers(incoming),
                body=(checked.body or incoming.body).decode("utf-8", errors="replace"),
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
    """The secret as our header, or as a bearer token (W&B sends its webhook's access token
    that way and cannot set other headers)."""
    given = incoming.header(TOKEN_HEADER) or _bearer(incoming.header("Authorization"))
    if not signatures.token_matches(integration.secret, given):
        raise NotAuthenticated(
            f"Missing or wrong {TOKEN_HEADER} header or Authorization: Bearer token."
        )


def _bearer(value: str | None) -> str | None:
    scheme, _, token = (value or "").partition(" ")
    return token if scheme.lower() == "bearer" else None


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
        elif event == "model_version_tag.set":
            tag = mlflow.parse_tag(payload)
            if tag.key == mlflow.TICKET_TAG:
                _own_ticket(integration, tag.value)
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


# W&B, DVC, Prodigy -------------------------------------------------------------------------


def check_wandb(integration: Integration, incoming: Incoming) -> Checked:
    _require_token(integration, incoming)
    if incoming.route == "summary":
        return _check_wandb_summary(integration, incoming)
    try:
        event = wandb.parse_event(_json(incoming.body))
    except wandb.PayloadError as error:
        raise InvalidInput(f"Not a W&B automation delivery: {error}.", code="malformed") from None
    if not event.ticket:
        raise InvalidInput(
            f"Artifact {event.version_string} names no ticket: log it with metadata "
            '{"sprintplan_ticket": "ML-3"} and keep the "ticket" line of the template.',
            code="unknown_ticket",
            field="ticket",
        )
    _own_ticket(integration, event.ticket)
    return Checked(
        dedup_key=_body_hash(incoming.body),
        event=f"{event.event_type} {event.collection}:{event.version}",
    )


def _check_wandb_summary(integration: Integration, incoming: Incoming) -> Checked:
    ticket = _own_ticket(integration, incoming.params.get("ticket", ""))
    run_path = incoming.params.get("run", "")
    if run_path and not wandb.RUN_PATH.match(run_path):
        raise InvalidInput(
            f"run must be a run path entity/project/run_id, not {run_path!r}.", field="run"
        )
    try:
        metrics = wandb.summary_metrics(_json(incoming.body))
    except wandb.PayloadError as error:
        raise InvalidInput(f"Not a wandb-summary.json: {error}.", code="malformed") from None
    return Checked(
        dedup_key=_body_hash(b"summary", ticket.key.encode(), run_path.encode(), incoming.body),
        event=f"run summary {run_path or ticket.key}"[:60],
        params={"route": "summary", "ticket": ticket.key, "run": run_path, "count": len(metrics)},
    )


def check_dvc(integration: Integration, incoming: Incoming) -> Checked:
    _require_token(integration, incoming)
    ticket = _own_ticket(integration, incoming.params.get("ticket", ""))
    document = _dvc_document(incoming)
    try:
        lock = dvc.parse_lock(document["lock"])
        for item in document["dvc_files"]:
            dvc.parse_dvc_file(item["text"], item["path"])
        for item in document["metrics"]:
            dvc.parse_metrics(item["text"], item["name"])
    except dvc.DvcError as error:
        raise InvalidInput(f"Not a DVC upload: {error}.", code="malformed") from None
    handed_over_by = _handing_over_blocker(ticket, incoming.params.get("from", ""))
    body = json.dumps(document, sort_keys=True).encode()
    return Checked(
        dedup_key=_body_hash(b"dvc", ticket.key.encode(), body),
        event=f"dvc.lock {len(lock.stages)} stages"
        + (f" @ {document['commit'][:12]}" if document["commit"] else ""),
        params={
            "ticket": ticket.key,
            "from": handed_over_by.key if handed_over_by else "",
        },
        body=body,
    )


def _dvc_document(incoming: Incoming) -> dict:
    """The upload as one JSON document: from a multipart form (`dvc.lock=@dvc.lock`,
    `data/labels.dvc=@data/labels.dvc`, `metrics=@metrics.json`, `commit`, `repo`) or a raw
    dvc.lock body with `commit` and `repo` in the query string."""
    parts = incoming.parts
    params = incoming.params
    if parts is None:
        try:
            lock = incoming.body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("dvc.lock is not UTF-8 text.", code="malformed") from None
        parts = {}
    else:
        lock = (parts.get("dvc.lock") or parts.get("lock") or [""])[0]
    if not lock.strip():
        raise InvalidInput(
            "No dvc.lock: send it as the body or as the form field dvc.lock.",
            code="malformed",
            field="dvc.lock",
        )

    def value(name: str) -> str:
        return ((parts.get(name) or [""])[0] or params.get(name, "")).strip()[:200]

    dvc_files = [
        {"path": name, "text": text}
        for name, texts in sorted(parts.items())
        if name.endswith(".dvc")
        for text in texts
    ]
    metrics = [
        {"name": f"metrics #{n}" if len(parts.get("metrics", [])) > 1 else "metrics", "text": t}
        for n, t in enumerate(parts.get("metrics", []), start=1)
    ]
    return {
        "lock": lock,
        "dvc_files": dvc_files,
        "metrics": metrics,
        "commit": value("commit"),
        "repo": value("repo"),
    }


def _handing_over_blocker(ticket: Ticket, key: str) -> Ticket | None:
    """The blocker whose data the pipeline read: the one named (`from`), else the ticket's
    only labeling-batch blocker; none when that is ambiguous."""
    blockers = quality_selectors.direct_blockers(ticket)
    if key:
        named = [b for b in blockers if b.key == key]
        if not named:
            raise InvalidInput(
                f"{key} does not block {ticket.key}: data is handed over across a dependency link.",
                code="not_a_blocker",
                field="from",
            )
        return named[0]
    labeling = [b for b in blockers if b.type == Ticket.Type.LABELING_BATCH]
    return labeling[0] if len(labeling) == 1 else None


def check_prodigy(integration: Integration, incoming: Incoming) -> Checked:
    _require_token(integration, incoming)
    name = incoming.params.get("dataset", "").strip()
    if not name:
        raise InvalidInput(
            "Name the Prodigy dataset: ?dataset=<name>, as given to prodigy db-out.",
            field="dataset",
        )
    if not ProdigyDataset.objects.filter(integration=integration, dataset=name).exists():
        raise InvalidInput(
            f"Prodigy dataset {name!r} is not linked to a ticket.",
            code="unknown_dataset",
            field="dataset",
        )
    try:
        summary = prodigy.summarise(prodigy.parse(incoming.body, dataset=name))
    except prodigy.ExportError as error:
        raise InvalidInput(
            f"Not a Prodigy db-out export: {error}.",
            code="malformed",
            extra={"line": error.line} if error.line else None,
        ) from None
    return Checked(
        dedup_key=_body_hash(b"prodigy", name.encode(), incoming.body),
        event=f"db-out {name}: {summary.lines} lines"[:60],
        params={"dataset": name},
    )


CHECKS: dict[str, Callable[[Integration, Incoming], Checked]] = {
    Integration.Kind.LABEL_STUDIO: check_label_studio,
    Integration.Kind.MLFLOW: check_mlflow,
    Integration.Kind.JUNIT: check_junit,
    Integration.Kind.WANDB: check_wandb,
    Integration.Kind.DVC: check_dvc,
    Integration.Kind.PRODIGY: check_prodigy,
}


# --- processing ---------------------------------------------------------------------------


def request_processing(delivery_id: int) -> None:
    """Hand the delivery to the background: the Celery worker when there is a broker, else a
    thread of this process (after the response, never in it). Never raises: an accepted
    delivery that was not queued is picked up by the catch-up sweep."""
    try:
        mode = processing_mode()
        if mode == "inline":  # tests only: the delivery is processed within the request
            delivery_process(delivery_id)
        elif mode == "thread":
            from . import background

            background.submit(delivery_id)
        else:
            from .tasks import process_delivery

            redis_guard.publish(process_delivery, args=[delivery_id])
    except Exception:
        logger.warning(
            "Could not process delivery %s now; catch-up will.", delivery_id, exc_info=True
        )


def ensure_background_running() -> None:
    """On the embedded default, make sure this process's delivery thread runs: called by the
    webhooks and the integrations page, so retries due after a restart are not left waiting
    for the next delivery."""
    if processing_mode() == "thread":
        from . import background

        background.ensure_running()


def processing_mode() -> str:
    """`celery` with a broker, `thread` on the embedded default; settings may force one."""
    forced = getattr(settings, "INTEGRATIONS_PROCESSING", "")
    if forced:
        return forced
    return "thread" if settings.CELERY_TASK_ALWAYS_EAGER else "celery"


# Errors worth another attempt: the tool's server was down or slow, a ticket kept changing,
# the database was busy. Anything else (bad ticket, permission) fails for good.
RETRYABLE = (mlflow.TrackingError, wandb.TrackingError, Conflict, OperationalError)


def delivery_process(delivery_id: int) -> Delivery:
    """Apply one accepted delivery. Idempotent: anything but `accepted` is left alone.

    What a processor needs from another server (a run from MLflow or W&B) is fetched
    first, outside any transaction, so a slow server never holds a database lock; then
    the delivery is applied in one transaction."""
    delivery = _loaded(Delivery.objects).filter(pk=delivery_id).first()
    if delivery is None or delivery.status != Delivery.Status.ACCEPTED:
        return delivery
    try:
        fetched = FETCHERS.get(delivery.integration.kind, _nothing)(delivery)
        with transaction.atomic():
            # Its own row only: the integration's team and service user are read, not
            # changed, and locking them would hold up every edit that locks those rows.
            delivery = _loaded(Delivery.objects.select_for_update(of=("self",))).get(
                pk=delivery_id
            )
            if delivery.status != Delivery.Status.ACCEPTED:
                return delivery
            note = PROCESSORS[delivery.integration.kind](delivery, fetched)
            _finish(delivery, Delivery.Status.PROCESSED, note)
    except RETRYABLE as error:
        _finish_failed(delivery_id, _message(error), retry=True)
    except (DomainError, ValueError) as error:
        _finish_failed(delivery_id, _message(error), retry=False)
    except Exception as error:
        logger.exception("Processing delivery %s failed.", delivery_id)
        _finish_failed(delivery_id, f"internal error: {type(error).__name__}", retry=True)
    return Delivery.objects.get(pk=delivery_id)


def _loaded(rows):
    return rows.select_related("integration__service_user", "integration__team")


def _nothing(delivery: Delivery) -> None:
    return None


def _message(error: Exception) -> str:
    return str(getattr(error, "message", error))


def _finish(delivery: Delivery, status: str, note: str) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status,
        error=note,
        processed_at=timezone.now(),
        attempts=F("attempts") + 1,
        next_attempt_at=None,
    )


def retry_backoff() -> list[float]:
    """Seconds to wait before each retry; its length is the number of retries."""
    return list(getattr(settings, "INTEGRATIONS_RETRY_BACKOFF", [60, 300, 1800, 7200, 21600]))


def _finish_failed(delivery_id: int, error: str, *, retry: bool) -> None:
    with transaction.atomic():
        attempts = 1 + (
            Delivery.objects.filter(pk=delivery_id).values_list("attempts", flat=True).first() or 0
        )
        backoff = retry_backoff()
        next_at = None
        if retry and attempts <= len(backoff):
            next_at = timezone.now() + timedelta(seconds=backoff[attempts - 1])
            error = f"{error} (attempt {attempts}; retrying)"
        elif retry:
            error = f"{error} (gave up after {attempts} attempts)"
        Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.ACCEPTED).update(
            status=Delivery.Status.FAILED,
            error=error,
            processed_at=timezone.now(),
            attempts=attempts,
            next_attempt_at=next_at,
        )


def pending_delivery_ids(older_than_seconds: float = 60) -> list[int]:
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        Delivery.objects.filter(status=Delivery.Status.ACCEPTED, received_at__lt=cutoff)
        .order_by("id")
        .values_list("id", flat=True)[:500]
    )


def retry_due_deliveries(*, now=None) -> list[int]:
    """Failed deliveries whose retry time has come: back to accepted, then processed."""
    now = now or timezone.now()
    due = list(
        Delivery.objects.filter(status=Delivery.Status.FAILED, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:100]
    )
    for delivery_id in due:
        claimed = Delivery.objects.filter(
            pk=delivery_id, status=Delivery.Status.FAILED, next_attempt_at__lte=now
        ).update(status=Delivery.Status.ACCEPTED, next_attempt_at=None)
        if claimed:
            delivery_process(delivery_id)
    return due


@transaction.atomic
def delivery_reprocess(*, actor, delivery: Delivery) -> Delivery:
    """Process a failed delivery again now (after fixing what made it fail)."""
    _ensure_can_see_deliveries(actor, delivery.integration)
    if delivery.status != Delivery.Status.FAILED:
        raise Conflict(
            f"Only a failed delivery can be processed again; this one is "
            f"{delivery.get_status_display().lower()}.",
            code="not_failed",
        )
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.FAILED).update(
        status=Delivery.Status.ACCEPTED, next_attempt_at=None, error=""
    )
    transaction.on_commit(lambda: request_processing(delivery.pk))
    delivery.refresh_from_db()
    return delivery


# Label Studio ------------------------------------------------------------------------------


def _process_label_studio(delivery: Delivery, fetched=None) -> str:
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
        notes.append(
            _update_progress(
                integration,
                link.ticket,
                done=event.finished_task_number,
                total=event.task_number,
                only_raise=link.keep_manual_progress,
            )
        )
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
    _agreement_evidence(
        integration,
        link.ticket,
        agreement.value,
        Evidence.Source.LABEL_STUDIO,
        {
            "project_id": link.project_id,
            "tasks_compared": agreement.tasks_compared,
            "method": "percent agreement on chosen labels",
        },
    )
    return f"iaa {agreement.value:.4f} over {agreement.tasks_compared} tasks"


def _agreement_evidence(integration, ticket, value: float, source: str, details: dict) -> None:
    """Inter-annotator agreement as evidence for every applicable `iaa` metric criterion."""
    criteria = quality_selectors.applicable_criteria(
        ticket, kind=Criterion.Kind.METRIC, metric_key="iaa"
    )
    for criterion in criteria:
        quality_services.evidence_record(
            actor=integration.service_user,
            criterion=criterion,
            ticket=ticket,
            value=round(value, 6),
            source=source,
            recorded_by_name=integration.name,
            details=details,
        )


def _update_progress(
    integration: Integration, ticket: Ticket, *, done: int, total: int, only_raise: bool = False
) -> str:
    """Progress = size * done / total, in the team's unit, through the ticket service."""
    for _attempt in range(3):  # a person may edit the ticket at the same moment
        current = Ticket.objects.select_related("team").get(pk=ticket.pk)
        if current.is_done:
            return f"{current.key} is done; progress left alone"
        share = min(done, total) / total
        progress = min(current.size, (current.size * Decimal(str(share))).quantize(CENTS))
        if progress == current.progress:
            return ""
        if only_raise and progress < current.progress:
            return f"{current.key} progress {current.progress} kept (the tool counts {progress})"
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


@dataclass(frozen=True)
class MlflowFetched:
    version: mlflow.ModelVersionEvent | None  # None: an event we ignore
    run: mlflow.Run | None


def _fetch_mlflow(delivery: Delivery) -> MlflowFetched:
    """The model version (for a tag set afterwards, from the registry) and its run."""
    integration = delivery.integration
    payload = json.loads(delivery.body)
    event = mlflow.event_name(payload)
    if event == "model_version.created":
        version = mlflow.parse_model_version(payload)
    elif event == "model_version_tag.set" and mlflow.parse_tag(payload).key == mlflow.TICKET_TAG:
        tag = mlflow.parse_tag(payload)
        version = mlflow.fetch_model_version(_tracking_uri(integration), tag.name, tag.version)
        # The registry may answer before the tag is visible: the delivery says what was set.
        version = replace(version, tags={**version.tags, tag.key: tag.value})
    else:
        return MlflowFetched(None, None)
    run = mlflow.fetch_run(_tracking_uri(integration), version.run_id) if version.run_id else None
    return MlflowFetched(version, run)


def _tracking_uri(integration: Integration) -> str:
    uri = integration.config.get("tracking_uri", "")
    if not uri:
        raise InvalidInput(f"{integration.name} has no tracking_uri configured.")
    return uri


def _process_mlflow(delivery: Delivery, fetched: MlflowFetched) -> str:
    integration = delivery.integration
    version, run = fetched.version, fetched.run
    if version is None:
        return f"{delivery.event}: ignored"
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


def _process_junit(delivery: Delivery, fetched=None) -> str:
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


# Shared by the ML tools ---------------------------------------------------------------------


def _record_metrics(
    integration: Integration,
    ticket: Ticket,
    metrics: dict[str, float],
    *,
    source: str,
    source_url: str = "",
    details: dict | None = None,
) -> list[str]:
    """Evidence for every metric criterion in force on the ticket whose key is exactly one of
    the metric names (`test/accuracy` matches `test/accuracy` only)."""
    recorded = []
    for key, value in sorted(metrics.items()):
        criteria = quality_selectors.applicable_criteria(
            ticket, kind=Criterion.Kind.METRIC, metric_key=key
        )
        for criterion in criteria:
            quality_services.evidence_record(
                actor=integration.service_user,
                criterion=criterion,
                ticket=ticket,
                value=value,
                source=source,
                recorded_by_name=integration.name,
                source_url=source_url[:500],
                details={**(details or {}), "metric": key},
            )
            recorded.append(f"{key}={value:g}")
    return recorded


# Weights & Biases --------------------------------------------------------------------------


def _fetch_wandb(delivery: Delivery) -> wandb.Run | None:
    """The run's summary, when the artifact names a run and an API URL is configured."""
    if delivery.params.get("route") == "summary":
        return None
    event = wandb.parse_event(json.loads(delivery.body))
    api_url = delivery.integration.config.get("api_url", "")
    if not (event.run_path and api_url):
        return None
    return wandb.fetch_run(api_url, delivery.integration.config.get("api_key", ""), event.run_path)


def _process_wandb(delivery: Delivery, run: wandb.Run | None) -> str:
    if delivery.params.get("route") == "summary":
        return _process_wandb_summary(delivery)
    integration = delivery.integration
    event = wandb.parse_event(json.loads(delivery.body))
    ticket = _own_ticket(integration, event.ticket)
    _record_wandb_artifact(integration, ticket, event)
    what = f"{ticket.key}: artifact {event.collection}:{event.version}"
    if not event.run_path:
        return f"{what}; no run named, so no summary to read"
    api_url = integration.config.get("api_url", "")
    if run is None:
        return f"{what}; no W&B API URL configured, run summary not read"
    recorded = _record_metrics(
        integration,
        ticket,
        run.metrics,
        source=Evidence.Source.WANDB,
        source_url=wandb.run_url(api_url, run.path),
        details={"run": run.path, "run_state": run.state, "artifact": event.version_string},
    )
    return f"{what}; run {run.path}: {', '.join(recorded) or 'no metric matches a criterion'}"


def _record_wandb_artifact(integration: Integration, ticket: Ticket, event) -> None:
    """With a run it is the model that run logged; without one, a dataset version
    identified by W&B's artifact id."""
    details = {
        "tool": "wandb",
        "event_type": event.event_type,
        "entity": event.entity,
        "project": event.project,
        "alias": event.alias,
        "author": event.author,
    }
    common = {
        "actor": integration.service_user,
        "ticket": ticket,
        "name": event.collection[:200],
        "version": event.version[:100],
        "uri": event.version_string[:500],
        "details": details,
    }
    if event.run_id:
        quality_services.artifact_record(kind="model_version", run_id=event.run_id[:100], **common)
    else:
        quality_services.artifact_record(
            kind="dataset_version",
            checksum=(event.version_id or event.version_string)[:200],
            **common,
        )


def _process_wandb_summary(delivery: Delivery) -> str:
    integration = delivery.integration
    ticket = _own_ticket(integration, delivery.params["ticket"])
    run_path = delivery.params.get("run", "")
    metrics = wandb.summary_metrics(json.loads(delivery.body))
    api_url = integration.config.get("api_url", "")
    recorded = _record_metrics(
        integration,
        ticket,
        metrics,
        source=Evidence.Source.WANDB,
        source_url=wandb.run_url(api_url, run_path) if run_path and api_url else "",
        details={"run": run_path, "file": "wandb-summary.json"},
    )
    return f"{ticket.key}: run summary; {', '.join(recorded) or 'no metric matches a criterion'}"


# DVC ---------------------------------------------------------------------------------------


def _process_dvc(delivery: Delivery, fetched=None) -> str:
    integration = delivery.integration
    document = json.loads(delivery.body)
    ticket = _own_ticket(integration, delivery.params["ticket"])
    source = delivery.params.get("from", "")
    handed_over_by = Ticket.objects.get(key=source) if source else None
    lock = dvc.parse_lock(document["lock"])
    files = [dvc.parse_dvc_file(item["text"], item["path"]) for item in document["dvc_files"]]
    commit, repo = document["commit"], document["repo"]
    recorder = _DvcRecorder(integration, ticket, commit, repo, handed_over_by)
    if commit:
        recorder.record(kind="code_commit", name=repo or "git", revision=commit, uri=repo)
    read_by_stages = {dep.path for stage in lock.stages for dep in stage.deps}
    for dvc_file in files:
        imported = {item.path for item in dvc_file.imports}
        for out in dvc_file.outs:
            consumed = bool(imported) or out.path in read_by_stages
            recorder.dataset(out, consumed=consumed, imports=dvc_file.imports)
    for entry in lock.external_inputs():
        recorder.dataset(entry, consumed=True)
    for entry in lock.output_directories():
        recorder.dataset(entry, consumed=False)
    for model, stage in lock.models():
        recorder.model(model, stage)
    metrics: dict[str, float] = {}
    for item in document["metrics"]:
        metrics.update(dvc.parse_metrics(item["text"], item["name"]).values)
    recorded = _record_metrics(
        integration,
        ticket,
        metrics,
        source=Evidence.Source.DVC,
        details={"commit": commit, "repo": repo},
    )
    recorded += _artifact_checks_met(integration, ticket, commit)
    return "; ".join([f"{ticket.key}: {recorder.summary()}", *recorded])


class _DvcRecorder:
    """Records one upload's artifacts on the ticket, counting what it recorded."""

    def __init__(self, integration, ticket, commit, repo, handed_over_by):
        self.integration, self.ticket = integration, ticket
        self.commit, self.repo, self.handed_over_by = commit, repo, handed_over_by
        self.counts = {"produced": 0, "consumed": 0, "models": 0}
        self.models: list[str] = []

    def record(self, **fields):
        return quality_services.artifact_record(
            actor=self.integration.service_user, ticket=self.ticket, **fields
        )

    def _where(self, path: str) -> str:
        at = f"@{self.commit}" if self.commit else ""
        return f"{self.repo}{at}:{path}" if self.repo else f"{path}{at}"

    def dataset(self, entry: dvc.Entry, *, consumed: bool, imports=()) -> None:
        details = {"tool": "dvc", "size": entry.size, "nfiles": entry.nfiles}
        uri = self._where(entry.path)
        if imports:
            source = imports[0]
            details["imported_from"] = {"repo": source.repo_url, "rev_lock": source.rev_lock}
            uri = f"{source.repo_url}@{source.rev_lock}:{source.path}"
        self.record(
            kind="dataset_version",
            direction="consumed" if consumed else "produced",
            name=entry.path[:200],
            version=entry.md5[:100],
            revision=self.commit[:100],
            checksum=entry.md5[:200],
            uri=uri[:500],
            handed_over_by=self.handed_over_by if consumed else None,
            details=details,
        )
        self.counts["consumed" if consumed else "produced"] += 1

    def model(self, entry: dvc.Entry, stage: dvc.Stage) -> None:
        trained_on = [
            {"path": dep.path, "md5": dep.md5, "nfiles": dep.nfiles}
            for dep in stage.deps
            if dep.is_dir
        ]
        self.record(
            kind="model_version",
            name=entry.path[:200],
            version=entry.md5[:100],
            # DVC has no run ids: the pipeline run is the commit its dvc.lock belongs to.
            run_id=(self.commit or f"dvc stage {stage.name}")[:100],
            checksum=entry.md5[:200],
            uri=self._where(entry.path)[:500],
            details={
                "tool": "dvc",
                "stage": stage.name,
                "size": entry.size,
                "trained_on": trained_on,
            },
        )
        self.counts["models"] += 1
        sources = ", ".join(f"{d['path']}@{d['md5'][:7]}" for d in trained_on)
        self.models.append(f"{entry.path} from {sources}")

    def summary(self) -> str:
        parts = [
            f"{self.counts['produced']} dataset revisions produced",
            f"{self.counts['consumed']} consumed"
            + (f" (handed over by {self.handed_over_by.key})" if self.handed_over_by else ""),
        ]
        parts += [f"model {text}" for text in self.models]
        if self.commit:
            parts.append(f"commit {self.commit[:12]}")
        return ", ".join(parts)


def _artifact_checks_met(integration: Integration, ticket: Ticket, commit: str) -> list[str]:
    """A manual check that passes once artifacts are recorded (“code and data committed”)
    gets evidence from the upload that recorded them, so its source shows."""
    kinds = set(ticket.artifacts.values_list("kind", flat=True))
    met = []
    for criterion in quality_selectors.applicable_criteria(ticket, kind=Criterion.Kind.MANUAL):
        required = set(criterion.required_artifacts or [])
        if not required or not required <= kinds:
            continue
        if not can_record_evidence(integration.service_user, criterion.team_id):
            continue
        quality_services.evidence_record(
            actor=integration.service_user,
            criterion=criterion,
            ticket=ticket,
            passed=True,
            source=Evidence.Source.DVC,
            recorded_by_name=integration.name,
            details={"artifacts": sorted(required), "commit": commit},
        )
        met.append(f"{criterion.code} met by recorded artifacts")
    return met


# Prodigy -----------------------------------------------------------------------------------


def _process_prodigy(delivery: Delivery, fetched=None) -> str:
    integration = delivery.integration
    link = ProdigyDataset.objects.select_related("ticket__team").get(
        integration=integration, dataset=delivery.params["dataset"]
    )
    summary = prodigy.summarise(prodigy.parse(delivery.body.encode("utf-8"), dataset=link.dataset))
    ticket = link.ticket
    notes = [
        f"{link.dataset}: {summary.answered} of {summary.examples} examples answered "
        f"({summary.answers.get('accept', 0)} accept, {summary.answers.get('reject', 0)} reject, "
        f"{summary.answers.get('ignore', 0)} ignore)"
    ]
    total = link.batch_size or (ticket.size if ticket.team.unit == "items" else None)
    if total:
        notes.append(
            _update_progress(
                integration,
                ticket,
                done=summary.answered,
                total=int(total),
                only_raise=link.keep_manual_progress,
            )
        )
    else:
        notes.append("no batch size set, progress left alone")
    notes.append(_record_prodigy_agreement(integration, ticket, link, summary))
    return "; ".join(note for note in notes if note)


def _record_prodigy_agreement(integration, ticket, link, summary: prodigy.Summary) -> str:
    agreement = summary.agreement
    if agreement is None:
        return "no example has two annotators, no agreement"
    _agreement_evidence(
        integration,
        ticket,
        agreement.value,
        Evidence.Source.PRODIGY,
        {"dataset": link.dataset, **summary.as_details()},
    )
    return (
        f"iaa {agreement.value:.4f} (percent agreement) over {agreement.examples_compared} "
        f"examples, {agreement.unanimous} unanimous"
    )


PROCESSORS: dict[str, Callable[[Delivery, object], str]] = {
    Integration.Kind.LABEL_STUDIO: _process_label_studio,
    Integration.Kind.MLFLOW: _process_mlflow,
    Integration.Kind.JUNIT: _process_junit,
    Integration.Kind.WANDB: _process_wandb,
    Integration.Kind.DVC: _process_dvc,
    Integration.Kind.PRODIGY: _process_prodigy,
}
# Reads from other servers, done before the processing transaction opens.
FETCHERS: dict[str, Callable[[Delivery], object]] = {
    Integration.Kind.MLFLOW: _fetch_mlflow,
    Integration.Kind.WANDB: _fetch_wandb,
}
