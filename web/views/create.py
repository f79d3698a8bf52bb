"""Creating tickets from anywhere: the full form (with searchable pickers for people and
tickets), and quick-add (title + Enter) on the backlog and the board columns."""

from decimal import ROUND_HALF_UP, Decimal

from django.contrib import messages
from django.db import transaction
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.policy import can_create_ticket, team_roles
from dependencies import services as link_services
from sprintplan import pages
from sprintplan.errors import DomainError, InvalidInput
from sprints.models import Sprint
from teams.models import Team
from tickets import services
from tickets.models import Ticket
from web.forms.tickets import NewTicketForm

PICKS_SHOWN = 8


def creatable_teams(user):
    """Teams the user may create tickets for: every team for the Scrum master and the PO,
    the teams they lead otherwise (the same rule as the service's)."""
    teams = Team.objects.order_by("name")
    if user.is_scrum_master or user.is_product_owner:
        return teams if can_create_ticket(user, 0) else teams.none()
    leads = [team_id for team_id, role in team_roles(user).items() if role == "lead"]
    return teams.filter(pk__in=leads)


def new_ticket(request):
    teams = creatable_teams(request.user)
    initial = {}
    wanted_team = (request.GET.get("team") or "").upper()
    if wanted_team:
        initial["team"] = teams.filter(key_prefix=wanted_team).first()
    if request.GET.get("sprint", "").isdigit():
        initial["sprint"] = request.GET["sprint"]
    form, status = NewTicketForm(initial=initial, teams=teams), 200
    picked: dict[str, list[str]] = {"blockers": [], "blocked": []}
    link_errors: dict[str, list[str]] = {}
    if request.method == "POST":
        form = NewTicketForm(request.POST, teams=teams)
        picked = {name: form.keys(name) for name in picked}
        if form.is_valid():
            ticket, error = pages.attempt(lambda: _create_with_links(request.user, form, picked))
            if error is None:
                messages.success(request, f"{ticket.key} created.")
                return redirect("ticket-detail", key=ticket.key)
            if error.field in picked:
                link_errors[error.field] = [error.message]
            else:
                error.add_to(form)
            status = error.status
        else:
            status = 400
    context = {
        "form": form,
        "no_team": not teams.exists(),
        "assignee_chosen": _people_chips(form.data.get("assignee")),
        "parent_chosen": _ticket_chips([form.data.get("parent", "")]),
        "picked_blockers": _ticket_chips(picked["blockers"]),
        "picked_blocked": _ticket_chips(picked["blocked"]),
        "link_errors": link_errors,
    }
    return render(request, "tickets/new.html", context, status=status)


def _people_chips(username) -> list[dict]:
    person = User.objects.filter(username=username).first() if username else None
    return [{"value": person.username, "label": person.display_name}] if person else []


def _ticket_chips(keys: list[str]) -> list[dict]:
    keys = [key.strip().upper() for key in keys if key and key.strip()]
    titles = dict(Ticket.objects.filter(key__in=keys).values_list("key", "title"))
    return [{"value": key, "label": f"{key} {titles.get(key, '')}".strip()} for key in keys]


def _create_with_links(user, form: NewTicketForm, picked: dict) -> Ticket:
    """The ticket and its links, all or nothing: a link that would close a loop refuses the
    whole form, with the loop named beside the field."""
    data = form.cleaned_data
    size = data.get("size") or Decimal(0)
    description = data.get("description", "")
    low, high = data.get("size_low"), data.get("size_high")
    if low is not None and high is not None:
        # Three-point (PERT) estimate: the plan carries the expected value.
        likely = data.get("size") or (low + high) / 2
        size = ((low + 4 * likely + high) / 6).quantize(Decimal("0.01"), ROUND_HALF_UP)
        description = (
            f"{description}\n\n_Estimate: {low:g} / {likely:g} / {high:g} "
            "(optimistic / likely / pessimistic)._"
        ).strip()
    tickets = {
        t.key: t
        for t in Ticket.objects.select_related("team").filter(
            key__in=picked["blockers"] + picked["blocked"]
        )
    }
    for name, keys in picked.items():
        missing = [key for key in keys if key not in tickets]
        if missing:
            raise InvalidInput(f"There is no ticket {', '.join(missing)}.", field=name)
    with transaction.atomic():
        ticket = services.ticket_create(
            actor=user,
            team=data["team"],
            title=data["title"],
            type=data["type"],
            description=description,
            size=size,
            status=data["status"],
            sprint=data.get("sprint"),
            parent=data.get("parent"),
            assignee=data.get("assignee"),
        )
        for key in picked["blockers"]:
            _link(user, tickets[key], ticket, "blockers")
        for key in picked["blocked"]:
            _link(user, ticket, tickets[key], "blocked")
    return ticket


def _link(user, blocker, blocked, field: str) -> None:
    try:
        link_services.link_create(actor=user, blocker=blocker, blocked=blocked)
    except DomainError as exc:
        exc.field = field
        raise


@require_POST
def quick_add(request):
    """Title + Enter: a ticket in the team (and sprint, status) of the place it was typed."""
    back = request.POST.get("next") or reverse("planning-room")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("planning-room")
    team = Team.objects.filter(key_prefix=(request.POST.get("team") or "").upper()).first()
    sprint_id = request.POST.get("sprint") or ""
    sprint = Sprint.objects.filter(pk=sprint_id).first() if sprint_id.isdigit() else None
    status = request.POST.get("status") or Ticket.Status.BACKLOG
    if team is None:
        messages.error(request, "Choose the team the ticket belongs to.")
        return redirect(back)
    return pages.announce(
        request,
        lambda: services.ticket_create(
            actor=request.user,
            team=team,
            title=request.POST.get("title", ""),
            status=status,
            sprint=sprint,
        ),
        done=back,
        said=lambda ticket: f"{ticket.key} “{ticket.title}” added.",
    )


# --- pickers (htmx autocomplete) ------------------------------------------------------------


@require_GET
def pick_people(request):
    """People matching the words typed (username or name), for an assignee field."""
    words = (request.GET.get("q") or "").split()
    people = User.objects.filter(is_active=True).exclude(
        product_role__in=[User.ProductRole.INTEGRATION, User.ProductRole.VIEWER]
    )
    for word in words:
        people = people.filter(
            Q(username__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
        )
    team = request.GET.get("team")
    if team:
        people = people.filter(memberships__team__key_prefix=team.upper())
    context = {
        "field": request.GET.get("field", "assignee"),
        "people": list(people.order_by("first_name", "username")[:PICKS_SHOWN]),
    }
    return render(request, "tickets/new.html#pick-people", context)


@require_GET
def pick_tickets(request):
    """Tickets matching a key or words of the title, for parent / blockers / blocked."""
    text = (request.GET.get("q") or "").strip()
    found = Ticket.objects.filter(archived_at__isnull=True).select_related("team")
    if text:
        found = found.filter(
            Q(key__iexact=text) | Q(key__istartswith=text) | Q(title__icontains=text)
        )
    exclude = request.GET.get("exclude")
    if exclude:
        found = found.exclude(key=exclude)
    context = {
        "field": request.GET.get("field", "blockers"),
        "tickets": list(found.order_by("-updated_at")[:PICKS_SHOWN]) if text else [],
    }
    return render(request, "tickets/new.html#pick-tickets", context)
