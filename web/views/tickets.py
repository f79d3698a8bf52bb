"""Ticket pages. Each action parses input, calls a service, and renders the page or, for
htmx requests, the named partial it changed."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.policy import (
    can_archive_ticket,
    can_change_comment,
    can_change_link,
    can_comment,
    can_override_done_gate,
    can_record_evidence,
    editable_ticket_fields,
)
from dependencies import services as link_services
from dependencies.models import DependencyLink
from planning.selectors import mark_link_health
from quality import services as quality_services
from quality.models import Criterion
from quality.selectors import artifacts_with_handover, ticket_dod_rows
from sprintplan import pages
from tickets import services
from tickets.formatting import display_value
from tickets.models import Comment, Ticket
from tickets.presenters import field_name, history_sentence, present_ticket, value_words
from web.forms.tickets import AddBlockerForm, CommentForm, InlineTicketForm, TicketForm
from web.selectors import tickets as selectors

ROW_TEMPLATE = "planning/sprint_detail.html#row-answer"
DETAIL_TEMPLATE = "tickets/ticket_detail.html"


def _is_partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


def _fresh(key: str) -> Ticket:
    ticket = get_object_or_404(selectors.ticket_queryset(), key=key)
    return ticket


def _present(request, ticket: Ticket) -> Ticket:
    present_ticket(request.user, ticket, selectors.blocker_facts([ticket]))
    return ticket


# --- detail page ---------------------------------------------------------------------------


def ticket_detail(request, key: str):
    try:
        ticket = selectors.ticket_detail(key)
    except Ticket.DoesNotExist:
        return render(request, "404.html", {"what": f"ticket {key}"}, status=404)
    return render(request, DETAIL_TEMPLATE, _detail_context(request, ticket))


def _detail_context(request, ticket: Ticket, **extra) -> dict:
    _present(request, ticket)
    editable = editable_ticket_fields(request.user, ticket)
    links_in = list(ticket.blocked_by_links.all())
    artifacts = artifacts_with_handover(ticket, [link.blocker_id for link in links_in])
    for link in links_in:
        link.removable = can_change_link(request.user, link.blocker, ticket)
        link.handed_over = [a for a in artifacts[link.blocker_id] if a.direction == "produced"]
    dod_rows = ticket_dod_rows(ticket)
    for row in dod_rows:
        row.may_record = can_record_evidence(request.user, row.criterion.team_id)
    context = {
        "ticket": ticket,
        "links_in": links_in,
        "links_out": list(ticket.blocks_links.all()),
        "activity": _activity(request.user, ticket),
        "comment_form": CommentForm(),
        "may_comment": can_comment(request.user),
        "may_archive": can_archive_ticket(request.user, ticket),
        "dod_rows": dod_rows,
        "artifacts": artifacts[ticket.pk],
        "form": TicketForm(
            initial=_initial(ticket),
            ticket=ticket,
            editable=editable,
            may_override=can_override_done_gate(request.user),
        ),
        "blocker_form": AddBlockerForm(),
        "can_edit": bool(editable),
        # A lead of this ticket's team may link any blocker to it; the Scrum master any pair.
        "can_add_blocker": can_change_link(request.user, ticket, ticket),
    }
    context.update(extra)
    return context


def _initial(ticket: Ticket) -> dict:
    return {
        "version": ticket.version,
        "title": ticket.title,
        "description": ticket.description,
        "type": ticket.type,
        "status": ticket.status,
        "size": ticket.size,
        "progress": ticket.progress,
        "assignee": ticket.assignee_id,
        "sprint": ticket.sprint_id,
        "parent": ticket.parent.key if ticket.parent_id else "",
    }


ACTIVITY_SHOWN = 300


def _activity(user, ticket: Ticket) -> list[dict]:
    """History and comments in one stream, oldest first (newest last, next to the comment
    box). Two queries whatever the length."""
    events = list(ticket.events.select_related("actor").order_by("-at", "-id")[:ACTIVITY_SHOWN])
    comments = list(
        Comment.objects.filter(ticket=ticket)
        .select_related("author")
        .prefetch_related("mentions")
        .order_by("-created_at", "-id")[:ACTIVITY_SHOWN]
    )
    rows = [
        {
            "at": event.at,
            "who": event.actor,
            "text": history_sentence(event.field, event.old_value, event.new_value),
        }
        for event in reversed(events)  # oldest first, so equal times keep their order
    ]
    for comment in reversed(comments):
        rows.append(
            {
                "at": comment.created_at,
                "who": comment.author,
                "comment": comment,
                "mentioned": [person.username for person in comment.mentions.all()],
                "mine": can_change_comment(user, comment),
            }
        )
    rows.sort(key=lambda row: row["at"])
    return rows[-ACTIVITY_SHOWN:]


@require_POST
def ticket_edit(request, key: str):
    ticket = _fresh(key)
    editable = editable_ticket_fields(request.user, ticket)
    form = TicketForm(
        request.POST,
        ticket=ticket,
        editable=editable,
        may_override=can_override_done_gate(request.user),
    )
    status = 200
    conflict = None
    if form.is_valid():
        _, error = pages.attempt(
            lambda: services.ticket_update(
                ticket=ticket,
                actor=request.user,
                changes=form.changes(),
                expected_version=form.cleaned_data["version"],
                override_reason=form.cleaned_data.get("override_reason", ""),
            )
        )
        if error is None:
            if not _is_partial(request):
                return redirect("ticket-detail", key=key)
            form = None
        elif error.stale:
            conflict = _conflict(form.changes(), error.current)
            status = error.status
        else:
            error.add_to(form)
            status = error.status
    else:
        status = 400
    ticket = selectors.ticket_detail(key)
    context = _detail_context(request, ticket, conflict=conflict)
    if form is not None and conflict is None:
        context["form"] = form
    return _render_detail(request, "ticket-fields", context, status)


# --- archive, comments ---------------------------------------------------------------------


@require_POST
def ticket_archive(request, key: str):
    """Archive, or restore when it is archived; a stale version shows the page with theirs."""
    ticket = _fresh(key)
    step = services.ticket_restore if ticket.is_archived else services.ticket_archive
    return pages.submit(
        request,
        lambda: step(actor=request.user, ticket=ticket, expected_version=_version(request)),
        render=lambda error: render(
            request,
            DETAIL_TEMPLATE,
            _detail_context(request, selectors.ticket_detail(key), archive_error=error.message),
        ),
        done=reverse("ticket-detail", args=[key]),
        rerender=False,
    )


def _version(request) -> int:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else 0


@require_POST
def comment_add(request, key: str):
    ticket = _fresh(key)
    form = CommentForm(request.POST)
    status = 400
    if form.is_valid():
        _, error = pages.attempt(
            lambda: services.comment_create(
                actor=request.user, ticket=ticket, body=form.cleaned_data["body"]
            ),
            fields=("body",),
        )
        if error is None:
            return redirect(f"{reverse('ticket-detail', args=[key])}#activity-end")
        form.add_error("body", error.message)
        status = error.status
    context = _detail_context(request, selectors.ticket_detail(key))
    context["comment_form"] = form
    return render(request, DETAIL_TEMPLATE, context, status=status)


@require_POST
def comment_change(request, key: str, comment_id: int):
    """Its author edits (body) or deletes (delete=1) a comment."""
    comment = get_object_or_404(Comment, pk=comment_id, ticket__key=key)

    def change():
        if request.POST.get("delete"):
            services.comment_delete(actor=request.user, comment=comment)
        else:
            services.comment_update(
                actor=request.user, comment=comment, body=request.POST.get("body", "")
            )

    return pages.submit(
        request,
        change,
        render=lambda error: render(
            request,
            DETAIL_TEMPLATE,
            _detail_context(
                request,
                selectors.ticket_detail(key),
                comment_error=error.message,
                comment_error_id=comment.pk,
            ),
        ),
        done=f"{reverse('ticket-detail', args=[key])}#comment-{comment.pk}",
        rerender=False,
    )


def _conflict(mine: dict, current: Ticket) -> dict:
    """Both versions of every field the user tried to change, for the user to choose."""
    rows = []
    for field, value in mine.items():
        theirs = display_value(getattr(current, field))
        if theirs != display_value(value):
            rows.append(
                {
                    "field": field_name(field),
                    "mine": value_words(field, display_value(value)),
                    "theirs": value_words(field, theirs),
                }
            )
    return {"rows": rows, "current_version": current.version, "mine": mine}


# --- inline edit on the sprint page ---------------------------------------------------------


@require_http_methods(["GET", "POST"])
def ticket_inline_edit(request, key: str):
    ticket = _fresh(key)
    context: dict = {"statuses": Ticket.Status.choices}
    status = 200
    if request.method == "POST":
        form = InlineTicketForm(request.POST)
        if form.is_valid():
            changes = {
                name: form.cleaned_data[name]
                for name in ("status", "progress")
                if name in request.POST and form.cleaned_data[name] not in (None, "")
            }
            _, error = pages.attempt(
                lambda: services.ticket_update(
                    ticket=ticket,
                    actor=request.user,
                    changes=changes,
                    expected_version=form.cleaned_data["version"],
                )
            )
            if error is not None and error.stale:
                context["conflict"] = _conflict(changes, error.current)
                status = error.status
            elif error is not None:
                context["error"] = error.message
                context["error_field"] = error.field
                status = error.status
        else:
            context["error"] = "; ".join(
                f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()
            )
            status = 400
        if status == 200 and not _is_partial(request):
            return (
                redirect("sprint-detail", sprint_id=ticket.sprint_id)
                if ticket.sprint_id
                else redirect("ticket-detail", key=key)
            )
        ticket = _fresh(key)
    context["ticket"] = _present(request, ticket)
    if ticket.sprint_id:
        mark_link_health(ticket.sprint, [ticket])
        if request.method == "POST" and status == 200:  # the lane's done figure follows
            context["lane"] = selectors.lane_totals(ticket.sprint_id, ticket.team)
    return render(request, ROW_TEMPLATE, context, status=status)


# --- links ---------------------------------------------------------------------------------------


@require_POST
def blocker_add(request, key: str):
    ticket = _fresh(key)
    form = AddBlockerForm(request.POST)
    status = 200
    if form.is_valid():
        _, error = pages.attempt(
            lambda: link_services.link_create(
                actor=request.user, blocker=form.cleaned_data["blocker"], blocked=ticket
            )
        )
        if error is None:
            form = AddBlockerForm()
        else:
            form.add_error("blocker", error.message)
            status = error.status
    else:
        status = 400
    return _render_links(request, key, form, status)


@require_POST
def blocker_remove(request, key: str, link_id: int):
    link = get_object_or_404(
        DependencyLink.objects.select_related("blocker__team", "blocked__team"),
        pk=link_id,
        blocked__key=key,
    )
    _, error = pages.attempt(lambda: link_services.link_delete(actor=request.user, link=link))
    return _render_links(
        request,
        key,
        AddBlockerForm(),
        error.status if error else 200,
        link_error=error.message if error else None,
    )


def _render_links(request, key: str, form, status: int, **extra):
    if status == 200 and not _is_partial(request):
        return redirect("ticket-detail", key=key)
    ticket = selectors.ticket_detail(key)
    context = _detail_context(request, ticket, **extra)
    context["blocker_form"] = form
    return _render_detail(request, "ticket-links", context, status)


def _render_detail(request, partial: str, context: dict, status: int) -> HttpResponse:
    """The whole page, or for htmx the changed partial plus the history (out of band)."""
    if not _is_partial(request):
        return render(request, DETAIL_TEMPLATE, context, status=status)
    html = render_to_string(f"{DETAIL_TEMPLATE}#{partial}", context, request=request)
    html += render_to_string(
        f"{DETAIL_TEMPLATE}#ticket-history", {**context, "oob": True}, request=request
    )
    return HttpResponse(html, status=status)


# --- Definition of Done evidence ------------------------------------------------------------


@require_POST
def evidence_add(request, key: str):
    """The owning team records a manual check or a metric value for one criterion."""
    ticket = _fresh(key)
    criterion = get_object_or_404(Criterion, pk=request.POST.get("criterion") or 0)
    verdict = request.POST.get("verdict")
    _, error = pages.attempt(
        lambda: quality_services.evidence_record(
            actor=request.user,
            criterion=criterion,
            ticket=ticket,
            value=request.POST.get("value") or None,
            passed={"pass": True, "fail": False}.get(verdict),
        )
    )
    if error is None and not _is_partial(request):
        return redirect("ticket-detail", key=key)
    context = _detail_context(
        request,
        selectors.ticket_detail(key),
        dod_error=error.message if error else None,
        dod_error_criterion=criterion.pk,
    )
    return _render_detail(request, "ticket-dod", context, error.status if error else 200)
