"""Writes of the notifications app: fan an event out into deliveries (deduplicated,
throttled, per the person's preferences), send one delivery, fold held ones into digests,
preferences, inbox reads, webhook subscriptions and retries.

Nothing here is called from page code on a change: listeners (listeners.py) hear the
domain events after the change committed and call `notify`; sending happens in Celery
(in-process after commit in the embedded default)."""

import logging
import secrets
import time
import urllib.error
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.policy import ensure_can_manage_chat_webhooks, ensure_can_read_delivery_log
from sprintplan import outbound
from sprintplan.errors import InvalidInput, PermissionDenied
from sprints.models import Sprint
from teams.models import Team

from . import payloads
from .models import (
    DIGEST,
    PERSONAL_CHANNELS,
    Channel,
    Delivery,
    Event,
    Notification,
    Preference,
    TicketWatch,
    WebhookSubscription,
)

logger = logging.getLogger(__name__)

DELIVER_TASK = "notifications.tasks.deliver"


@dataclass(frozen=True)
class Message:
    event_type: str
    event_key: str
    title: str
    body: str = ""
    url: str = ""
    facts: dict = field(default_factory=dict)
    sprint_id: int | None = None
    team_ids: tuple[int, ...] = ()


# --- preferences ------------------------------------------------------------------------------

DEFAULT_CHANNELS = [Channel.INBOX.value, Channel.EMAIL.value]


def effective_channels(preference: Preference | None, event_type: str) -> list[str]:
    """The person's channels for an event. A stored preference that is not well formed
    (edited around the service) is logged and read as the defaults: the person still hears."""
    if preference is None:
        return list(DEFAULT_CHANNELS)
    chosen = preference.channels
    if not isinstance(chosen, dict):
        logger.warning(
            "Preference of user %s is not an object; using defaults.", preference.user_id
        )
        return list(DEFAULT_CHANNELS)
    value = chosen.get(event_type, DEFAULT_CHANNELS)
    if not isinstance(value, list) or not set(value) <= set(PERSONAL_CHANNELS):
        logger.warning(
            "Preference of user %s for %s is malformed (%r); using defaults.",
            preference.user_id,
            event_type,
            value,
        )
        return list(DEFAULT_CHANNELS)
    return list(value)


def validated_preferences(channels: Any, mode: Any) -> tuple[dict[str, list[str]], str]:
    if not isinstance(channels, dict):
        raise InvalidInput("channels must map each event to a list of channels.", field="channels")
    clean = {}
    for event, chosen in channels.items():
        if event not in Event.values:
            raise InvalidInput(f"Unknown event {event!r}.", field="channels")
        if not isinstance(chosen, list) or not all(isinstance(c, str) for c in chosen):
            raise InvalidInput(
                f"The channels of {Event(event).label.lower()} must be a list.", field="channels"
            )
        unknown = sorted(set(chosen) - set(PERSONAL_CHANNELS))
        if unknown:
            raise InvalidInput(
                f"Unknown channel {unknown[0]!r}: choose inbox or email.", field="channels"
            )
        clean[event] = sorted(set(chosen), key=list(PERSONAL_CHANNELS).index)
    if mode not in Preference.Mode.values:
        raise InvalidInput("mode is immediate or daily.", field="mode")
    return clean, mode


@transaction.atomic
def preference_update(*, actor, user: User, channels: Any, mode: Any) -> Preference:
    """A person changes their own preferences (nobody else's)."""
    if actor.pk != user.pk:
        raise PermissionDenied("You may change only your own notification preferences.")
    clean, mode = validated_preferences(channels, mode)
    preference, _ = Preference.objects.update_or_create(
        user=user, defaults={"channels": clean, "mode": mode}
    )
    return preference


def preference_of(user: User) -> dict:
    preference = Preference.objects.filter(user=user).first()
    return {
        "channels": {e: effective_channels(preference, e) for e in Event.values},
        "mode": preference.mode if preference else Preference.Mode.IMMEDIATE.value,
    }


# --- fan-out ----------------------------------------------------------------------------------


def notify(*, message: Message, recipient_ids) -> list[int]:
    """Create the deliveries of one event and queue the sendable ones after commit. Returns
    their ids. Deduplicated: the same event key reaches a person (or webhook) on a channel
    at most once, however often it is announced."""
    now = timezone.now()
    with transaction.atomic():
        rows = _personal_rows(message, set(recipient_ids), now) + _webhook_rows(message, now)
        if not rows:
            return []
        _apply_throttle(rows, message.event_type, now)
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        ready = list(
            Delivery.objects.filter(
                event_key=message.event_key,
                status=Delivery.Status.PENDING,
                attempts=0,
                created_at=now,
            ).values_list("id", flat=True)
        )
        transaction.on_commit(lambda: _enqueue(ready))
    return ready


def _personal_rows(message: Message, recipient_ids: set[int], now: datetime) -> list[Delivery]:
    people = User.objects.filter(pk__in=recipient_ids, is_active=True).exclude(
        product_role=User.ProductRole.INTEGRATION
    )
    preferences = {p.user_id: p for p in Preference.objects.filter(user_id__in=recipient_ids)}
    rows = []
    for person in people:
        preference = preferences.get(person.pk)
        daily = preference is not None and preference.mode == Preference.Mode.DAILY
        for channel in effective_channels(preference, message.event_type):
            rows.append(
                _row(
                    message,
                    now,
                    channel=channel,
                    target=f"user:{person.pk}",
                    recipient_id=person.pk,
                    hold=Delivery.Hold.DAILY if daily else Delivery.Hold.NONE,
                )
            )
    return rows


def active_webhooks() -> list[WebhookSubscription]:
    return list(WebhookSubscription.objects.filter(active=True))


def webhook_hears(hook: WebhookSubscription, event_type: str, *, team_ids, sprint_id) -> bool:
    """A webhook of a team or a sprint hears their events (of its types); neither: all."""
    in_scope = (
        (hook.team_id is None and hook.sprint_id is None)
        or hook.team_id in team_ids
        or (sprint_id is not None and hook.sprint_id == sprint_id)
    )
    return in_scope and (not hook.events or event_type in hook.events)


def _webhook_rows(message: Message, now: datetime) -> list[Delivery]:
    return [
        _row(message, now, channel=Channel.WEBHOOK, target=f"hook:{hook.pk}", subscription=hook)
        for hook in active_webhooks()
        if webhook_hears(
            hook, message.event_type, team_ids=message.team_ids, sprint_id=message.sprint_id
        )
    ]


def _row(message: Message, now: datetime, *, channel, target, hold="", **who) -> Delivery:
    row = Delivery(
        channel=channel,
        target=target,
        event_type=message.event_type,
        event_key=message.event_key[:120],
        sprint_id=message.sprint_id,
        title=message.title[:200],
        body=message.body,
        url=message.url,
        facts=message.facts,
        created_at=now,
        **who,
    )
    if hold == Delivery.Hold.DAILY:
        row.status, row.hold, row.due_at = Delivery.Status.HELD, hold, next_digest_time(now)
    return row


def next_digest_time(now: datetime) -> datetime:
    local = timezone.localtime(now)
    due = local.replace(hour=settings.NOTIFY_DIGEST_HOUR, minute=0, second=0, microsecond=0)
    return due if due > local else due + timedelta(days=1)


def _apply_throttle(rows: list[Delivery], event_type: str, now: datetime) -> None:
    """At most one message of an event type per person (or webhook) per channel in a window:
    the rest of a burst is held and sent as one digest when the window ends."""
    window = timedelta(seconds=settings.NOTIFY_THROTTLE_SECONDS)
    recent = set(
        Delivery.objects.filter(
            event_type=event_type,
            created_at__gte=now - window,
            target__in={row.target for row in rows},
        )
        .exclude(event_key=rows[0].event_key)
        .values_list("channel", "target")
    )
    for row in rows:
        if row.status == Delivery.Status.PENDING and (row.channel, row.target) in recent:
            row.status, row.hold = Delivery.Status.HELD, Delivery.Hold.THROTTLED
            row.due_at = now + window


def _enqueue(ids: list[int]) -> None:
    """Queue one task per delivery. Never raises: the change that caused them committed."""
    from celery import current_app

    task = current_app.tasks[DELIVER_TASK]
    for pk in ids:
        try:
            task.apply_async(kwargs={"delivery_id": pk})
        except Exception:
            logger.exception("Could not queue delivery %s; the periodic sweep will.", pk)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # No beat in the embedded default: fold what is due while we are here.
        digests_flush()


# --- sending ----------------------------------------------------------------------------------


class DeliveryFailed(Exception):
    pass


def delivery_send(*, delivery_id: int) -> str:
    """Send one delivery. Returns "sent", "skipped", "failed" (worth retrying) or "busy"
    (someone else has it, or it is sent already). The HTTP call or e-mail runs outside
    any transaction."""
    claimed = Delivery.objects.filter(
        pk=delivery_id, status__in=[Delivery.Status.PENDING, Delivery.Status.FAILED]
    ).update(status=Delivery.Status.SENDING)
    if not claimed:
        return "busy"
    delivery = Delivery.objects.select_related("recipient", "subscription").get(pk=delivery_id)
    try:
        outcome = _send(delivery)
    except DeliveryFailed as error:
        _finish(delivery, Delivery.Status.FAILED, str(error))
        logger.warning(
            "Delivery %s failed (attempt %s): %s", delivery.pk, delivery.attempts + 1, error
        )
        return "failed"
    except Exception as error:  # a bug or an unexpected library error: logged, retried
        _finish(delivery, Delivery.Status.FAILED, f"{type(error).__name__}: {error}")
        logger.exception("Delivery %s failed unexpectedly.", delivery.pk)
        return "failed"
    _finish(
        delivery,
        Delivery.Status.SENT if outcome == "sent" else Delivery.Status.SKIPPED,
        "" if outcome == "sent" else outcome,
    )
    return "sent" if outcome == "sent" else "skipped"


def _finish(delivery: Delivery, status: str, error: str) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status,
        attempts=delivery.attempts + 1,
        last_error=error[:2000],
        sent_at=timezone.now() if status == Delivery.Status.SENT else None,
    )


def _send(delivery: Delivery) -> str:
    if delivery.channel == Channel.INBOX:
        Notification.objects.get_or_create(
            recipient_id=delivery.recipient_id,
            event_key=delivery.event_key,
            defaults={
                "event_type": delivery.event_type,
                "sprint_id": delivery.sprint_id,
                "title": delivery.title,
                "body": delivery.body,
                "url": delivery.url,
                "created_at": timezone.now(),
            },
        )
        return "sent"
    if delivery.channel == Channel.EMAIL:
        address = delivery.recipient.email if delivery.recipient else ""
        if not address:
            return "The person has no e-mail address."
        link = f"\n\n{absolute(delivery.url)}" if delivery.url else ""
        try:
            send_mail(
                subject=f"[Sprintplan] {delivery.title}",
                message=f"{delivery.body}{link}",
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[address],
            )
        except OSError as error:
            raise DeliveryFailed(f"Mail server: {error}") from error
        return "sent"
    return _post_webhook(delivery)


def absolute(url: str) -> str:
    return url if url.startswith("http") else settings.SITE_URL.rstrip("/") + url


def _post_webhook(delivery: Delivery) -> str:
    hook = delivery.subscription
    if hook is None or not hook.active:
        return "The webhook was removed or switched off."
    url = absolute(delivery.url) if delivery.url else ""
    if hook.format == WebhookSubscription.Format.GENERIC:
        raw = payloads.generic_body(
            event=delivery.event_type,
            key=delivery.event_key,
            title=delivery.title,
            body=delivery.body,
            url=url,
            facts=delivery.facts,
        )
        headers = payloads.signed_headers(hook.secret, int(time.time()), raw)
    else:
        raw = payloads.chat_body(title=delivery.title, body=delivery.body, url=url)
        headers = {}
    post(hook.url, raw, headers)
    return "sent"


def post(url: str, raw: bytes, headers: dict[str, str]) -> None:
    """POST JSON; any answer but 2xx (a redirect included), a refused connection, a timeout
    or an address that is not public (sprintplan/outbound.py) is a failure."""
    refused = outbound.private_reason(url)
    if refused:
        raise DeliveryFailed(f"Not sent to {url}: {refused}.")
    request = urllib.request.Request(
        url,
        data=raw,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "Sprintplan", **headers},
    )
    try:
        with outbound.opener.open(request, timeout=settings.NOTIFY_WEBHOOK_TIMEOUT) as answer:
            answer.read(1024)
    except urllib.error.HTTPError as error:
        raise DeliveryFailed(f"The receiver answered {error.code} {error.reason}.") from error
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DeliveryFailed(f"Could not reach {url}: {reason}.") from error


# --- digests ----------------------------------------------------------------------------------


def digests_flush(now: datetime | None = None) -> int:
    """Fold the held deliveries that are due into one digest per person (or webhook),
    channel and kind of hold, grouped per sprint, and queue them. Returns digests made."""
    now = now or timezone.now()
    due_targets = set(
        Delivery.objects.filter(status=Delivery.Status.HELD, due_at__lte=now).values_list(
            "channel", "target", "hold"
        )
    )
    made = []
    for channel, target, hold in sorted(due_targets):
        with transaction.atomic():
            held = list(
                Delivery.objects.select_for_update(of=("self",))
                .filter(status=Delivery.Status.HELD, channel=channel, target=target, hold=hold)
                .select_related("sprint")
                .order_by("created_at", "id")
            )
            if not held:
                continue
            digest = Delivery.objects.create(
                channel=channel,
                target=target,
                recipient_id=held[0].recipient_id,
                subscription_id=held[0].subscription_id,
                event_type=DIGEST,
                event_key=f"digest:{held[0].pk}-{held[-1].pk}",
                sprint_id=held[0].sprint_id if len({d.sprint_id for d in held}) == 1 else None,
                title=_digest_title(held, hold),
                body=_digest_body(held),
                url="/notifications/",
                facts={"count": len(held), "events": sorted({d.event_type for d in held})},
                created_at=now,
            )
            Delivery.objects.filter(pk__in=[d.pk for d in held]).update(
                status=Delivery.Status.MERGED, digest=digest
            )
            made.append(digest.pk)
    if made:
        transaction.on_commit(lambda: _enqueue_only(made))
    return len(made)


def _enqueue_only(ids: list[int]) -> None:
    from celery import current_app

    task = current_app.tasks[DELIVER_TASK]
    for pk in ids:
        try:
            task.apply_async(kwargs={"delivery_id": pk})
        except Exception:
            logger.exception("Could not queue digest %s.", pk)


def _digest_title(held: list[Delivery], hold: str) -> str:
    what = "Your daily digest" if hold == Delivery.Hold.DAILY else "Several updates"
    return f"{what}: {len(held)} update{'s' if len(held) != 1 else ''}"


def _digest_body(held: list[Delivery]) -> str:
    by_sprint: dict[str, list[str]] = defaultdict(list)
    for delivery in held:
        name = delivery.sprint.name if delivery.sprint else "Outside any sprint"
        line = f"• {delivery.title}"
        if delivery.event_type != DIGEST and delivery.body:
            line += f" — {delivery.body.splitlines()[0]}"
        by_sprint[name].append(line)
    return "\n\n".join(f"{name}\n" + "\n".join(lines) for name, lines in by_sprint.items())


def pending_sweep() -> int:
    """Queue deliveries left pending (a lost enqueue) or failed with retries left (beat)."""
    stale = timezone.now() - timedelta(seconds=60)
    ids = list(
        Delivery.objects.filter(
            Q(status=Delivery.Status.PENDING)
            | Q(status=Delivery.Status.FAILED, attempts__lt=settings.NOTIFY_MAX_ATTEMPTS),
            created_at__lt=stale,
        ).values_list("id", flat=True)[:500]
    )
    _enqueue_only(ids)
    return len(ids)


# --- inbox ------------------------------------------------------------------------------------


def notification_mark_read(*, actor, notification_ids=None) -> int:
    """Mark the actor's notifications read (None: all of them). Returns how many changed."""
    unread = Notification.objects.filter(recipient=actor, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    return unread.update(read_at=timezone.now())


# --- delivery log (Scrum master) --------------------------------------------------------------


def delivery_retry(*, actor, delivery: Delivery) -> Delivery:
    """Send a failed (or stuck) delivery again, now."""
    ensure_can_read_delivery_log(actor)
    if delivery.status not in (Delivery.Status.FAILED, Delivery.Status.SENDING):
        raise InvalidInput(
            "Only failed deliveries are retried; this one is "
            f"{delivery.get_status_display().lower()}.",
            field="delivery",
        )
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.PENDING)
    transaction.on_commit(lambda: _enqueue_only([delivery.pk]))
    return delivery


# --- webhook subscriptions --------------------------------------------------------------------


@transaction.atomic
def webhook_create(
    *,
    actor,
    name: str,
    format: str,
    url: str,
    team: Team | None = None,
    sprint: Sprint | None = None,
    events: Any = None,
) -> WebhookSubscription:
    """A new outbound webhook with a fresh secret (the caller shows it once)."""
    ensure_can_manage_chat_webhooks(actor)
    name = (name or "").strip()
    if not name:
        raise InvalidInput('Name the webhook, e.g. "#labeling channel".', field="name")
    if format not in WebhookSubscription.Format.values:
        raise InvalidInput("format is slack, mattermost or generic.", field="format")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 500:
        raise InvalidInput("Give the webhook's http(s) address.", field="url")
    outbound.ensure_public(url, field="url")
    events = events or []
    if not isinstance(events, list) or not set(events) <= set(Event.values):
        raise InvalidInput("events lists known events (empty: every event).", field="events")
    return WebhookSubscription.objects.create(
        name=name[:100],
        format=format,
        url=url,
        secret=secrets.token_urlsafe(32),
        team=team,
        sprint=sprint,
        events=events,
        created_by=actor,
    )


def webhook_test(*, actor, subscription: WebhookSubscription) -> Delivery:
    """Send a test message now (through the same delivery path and log)."""
    ensure_can_manage_chat_webhooks(actor)
    now = timezone.now()
    with transaction.atomic():
        delivery = Delivery.objects.create(
            channel=Channel.WEBHOOK,
            target=f"hook:{subscription.pk}",
            subscription=subscription,
            event_type="test",
            event_key=f"test:{subscription.pk}:{now.timestamp()}",
            title=f"Test message from Sprintplan to {subscription.name}",
            body=f"Sent by {actor.display_name}. If you read this, the webhook works.",
            created_at=now,
        )
        transaction.on_commit(lambda: _enqueue_only([delivery.pk]))
    return delivery


@transaction.atomic
def webhook_delete(*, actor, subscription: WebhookSubscription) -> None:
    ensure_can_manage_chat_webhooks(actor)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(active=False)


# --- watching tickets -------------------------------------------------------------------------


@transaction.atomic
def ticket_watch_set(*, actor, ticket, watching: bool) -> bool:
    """Follow (or stop following) a ticket one does not own. Returns whether one watches."""
    if not getattr(actor, "is_authenticated", False) or actor.is_integration:
        raise PermissionDenied("Only people can watch tickets.")
    if watching:
        TicketWatch.objects.get_or_create(user=actor, ticket=ticket)
    else:
        TicketWatch.objects.filter(user=actor, ticket=ticket).delete()
    return watching
