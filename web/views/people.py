"""Teams and people pages: the Scrum master sets the product up here (teams, people, roles,
memberships); a lead sets the usual part time of the team's members. Every write goes
through accounts.services / teams.services, which check the role."""

from django.contrib import messages
from django.db import transaction
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services as people_services
from accounts.models import User
from accounts.policy import can_change_capacity, can_manage_people, can_manage_teams
from sprintplan import pages
from teams import services as team_services
from teams.models import Membership, Team
from web.forms.people import (
    ROLE_CHOICES,
    MembershipForm,
    PersonDetailsForm,
    PersonForm,
    TeamForm,
)

# --- teams ------------------------------------------------------------------------------------


def team_list(request):
    form, status = TeamForm(), 200
    if request.method == "POST":
        form = TeamForm(request.POST)
        status = _save_team(request, form, team=None)
        if status == 302:
            return redirect("team-list")
    teams = Team.objects.order_by("name").prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.people().select_related("user"))
    )
    context = {"teams": teams, "form": form, "may_manage": can_manage_teams(request.user)}
    return render(request, "people/teams.html", context, status=status)


def team_settings(request, prefix: str):
    team = get_object_or_404(Team, key_prefix=prefix.upper())
    status = 200
    form = TeamForm(initial=_team_initial(team))
    if request.method == "POST":
        form = TeamForm(request.POST)
        status = _save_team(request, form, team=team)
        if status == 302:
            return redirect("team-settings", prefix=team.key_prefix)
    return render(
        request, "people/team.html", _team_context(request, team, form=form), status=status
    )


def _team_context(request, team: Team, **extra) -> dict:
    members = list(Membership.objects.people().filter(team=team).select_related("user"))
    return {
        "team": team,
        "members": sorted(members, key=lambda m: (m.role != "lead", m.user.username)),
        "member_form": MembershipForm(),
        "may_manage": can_manage_teams(request.user),
        "may_set_availability": can_change_capacity(request.user, team.pk),
        **extra,
    }


def _team_initial(team: Team) -> dict:
    wip = team.wip_limits or {}
    return {
        "name": team.name,
        "key_prefix": team.key_prefix,
        "kind": team.kind,
        "unit": team.unit,
        "unit_label": team.unit_label,
        "default_rate": team.default_rate,
        **{name: wip.get(status) for name, status in TeamForm.WIP_FIELDS.items()},
    }


def _save_team(request, form: TeamForm, *, team: Team | None) -> int:
    if not form.is_valid():
        return 400

    @transaction.atomic  # the team and its WIP limits, or neither
    def save() -> Team:
        saved = (
            team_services.team_create(actor=request.user, **form.team_values())
            if team is None
            else team_services.team_update(
                actor=request.user, team=team, changes=form.team_values()
            )
        )
        team_services.team_set_wip_limits(actor=request.user, team=saved, limits=form.wip_limits())
        return saved

    saved, error = pages.attempt(save)
    if error is not None:
        error.add_to(form)
        return error.status
    verb = "created" if team is None else "saved"
    messages.success(request, f"Team {saved.name} ({saved.key_prefix}) {verb}.")
    return 302


@require_POST
def member_add(request, prefix: str):
    team = get_object_or_404(Team, key_prefix=prefix.upper())
    form = MembershipForm(request.POST)
    status = 400
    if form.is_valid():
        _, error = pages.attempt(
            lambda: team_services.membership_set(actor=request.user, team=team, **form.cleaned_data)
        )
        if error is None:
            messages.success(
                request, f"{form.cleaned_data['user'].display_name} is in {team.name}."
            )
            return redirect("team-settings", prefix=team.key_prefix)
        error.add_to(form)
        status = error.status
    context = _team_context(request, team, form=TeamForm(initial=_team_initial(team)))
    context["member_form"] = form
    return render(request, "people/team.html", context, status=status)


@require_POST
def member_change(request, prefix: str, username: str):
    """Role (Scrum master), part time (Scrum master or the team's lead), or removal."""
    team = get_object_or_404(Team, key_prefix=prefix.upper())
    membership = get_object_or_404(
        Membership.objects.select_related("user"), team=team, user__username=username
    )

    @transaction.atomic  # the role and the share, or neither
    def change():
        if request.POST.get("remove"):
            team_services.membership_remove(actor=request.user, membership=membership)
            return
        role = request.POST.get("role")
        if role and role != membership.role:
            team_services.membership_set(
                actor=request.user, team=team, user=membership.user, role=role
            )
        share = request.POST.get("part_time_percent")
        if share not in (None, "") and str(share) != str(membership.part_time_percent):
            team_services.membership_set_part_time(
                actor=request.user, membership=membership, part_time_percent=share
            )

    def refused(error):
        context = _team_context(request, team, form=TeamForm(initial=_team_initial(team)))
        context.update(member_error=error.message, member_error_user=username)
        return render(request, "people/team.html", context)

    return pages.submit(
        request,
        change,
        render=refused,
        done=reverse("team-settings", args=[team.key_prefix]),
        rerender=False,
    )


# --- people -----------------------------------------------------------------------------------


def people(request):
    form, status, new_link = PersonForm(), 200, None
    if request.method == "POST":
        form = PersonForm(request.POST)
        status, new_link = _add_person(request, form)
        if status == 201:
            form, status = PersonForm(), 200
    return render(
        request, "people/people.html", _people_context(request, form, new_link), status=status
    )


def _people_context(request, form, new_link) -> dict:
    """`new_link`: the one-time set-password link, shown in this answer only, never stored."""
    people_rows = (
        User.objects.exclude(product_role=User.ProductRole.INTEGRATION)
        .prefetch_related(
            Prefetch("memberships", queryset=Membership.objects.select_related("team"))
        )
        .order_by("-is_active", "username")
    )
    return {
        "people": people_rows,
        "form": form,
        "new_link": new_link,
        "roles": ROLE_CHOICES,
        "may_manage": can_manage_people(request.user),
        "has_teams": Team.objects.exists(),
    }


def _add_person(request, form: PersonForm):
    if not form.is_valid():
        return 400, None
    data = dict(form.cleaned_data)
    team, team_role = data.pop("team"), data.pop("team_role")

    @transaction.atomic  # the person and their team, or neither
    def create():
        user, path = people_services.user_create(actor=request.user, **data)
        if team is not None:
            team_services.membership_set(actor=request.user, team=team, user=user, role=team_role)
        return user, path

    created, error = pages.attempt(create)
    if error is not None:
        error.add_to(form)
        return error.status, None
    user, path = created
    return 201, {"user": user, "url": request.build_absolute_uri(path)}


@require_POST
def person_change(request, username: str):
    """Role, deactivate/reactivate, or a new set-password link (Scrum master)."""
    person = get_object_or_404(User, username=username)
    action = request.POST.get("action")
    if action == "link":
        path, error = pages.attempt(
            lambda: people_services.user_password_link(actor=request.user, user=person)
        )
        if error is None:
            link = {"user": person, "url": request.build_absolute_uri(path)}
            return render(
                request, "people/people.html", _people_context(request, PersonForm(), link)
            )
        messages.error(request, error.message)
        return redirect("people")

    def change() -> str:
        if action in ("deactivate", "reactivate"):
            active = action == "reactivate"
            people_services.user_set_active(actor=request.user, user=person, active=active)
            return "can log in again" if active else "is deactivated; history keeps the name"
        role = request.POST.get("product_role", "")
        people_services.user_update(actor=request.user, user=person, changes={"product_role": role})
        return f"is now {dict(ROLE_CHOICES).get(role, role)}"

    return pages.announce(
        request,
        change,
        done=reverse("people"),
        said=lambda said: f"{person.display_name} {said}.",
    )


@require_http_methods(["GET", "POST"])
def person_edit(request, username: str):
    """A person's name and e-mail (Scrum master); an edit on top of a change made meanwhile
    shows theirs and keeps what was typed."""
    person = get_object_or_404(User, username=username)
    if request.method == "GET":
        return _person_page(request, person, PersonDetailsForm.for_person(person))
    form = PersonDetailsForm(request.POST)
    if not form.is_valid():
        return _person_page(request, person, form, status=400)
    _, error = pages.attempt(
        lambda: people_services.user_update(
            actor=request.user, user=person, changes=form.changes(), expected=form.seen()
        ),
        fields=form.fields,
    )
    if error is None:
        messages.success(request, f"{person.username} saved.")
        return redirect("people")
    if error.stale:
        return _person_page(
            request, person, _on_top_of(request, error.current), error.status, error.current
        )
    error.add_to(form)
    return _person_page(request, person, form, status=error.status)


def _on_top_of(request, current: User) -> PersonDetailsForm:
    """What was typed, now with their values as the ones seen: saving again applies it."""
    data = request.POST.copy()
    for name in PersonDetailsForm.FIELDS:
        data[f"seen_{name}"] = getattr(current, name)
    form = PersonDetailsForm(data)
    form.is_valid()
    return form


def _person_page(request, person, form, status: int = 200, theirs: User | None = None):
    context = {
        "person": person,
        "form": form,
        "theirs": theirs,
        "may_manage": can_manage_people(request.user),
    }
    return render(request, "people/person.html", context, status=status)
