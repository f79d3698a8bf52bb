"""Seed scenarios 1 and 2 of the product brief.

Scenario 1, plan a sprint for an image classifier: 2 ML engineers, 4 labelers, 1 QA; goal
"v1.1 classifier identifies Class X with > 90% accuracy"; chain labeling → training →
validation. Scenario 2, mid-sprint labeling bottleneck, continues the same sprint: each team's
capacity, a finished previous sprint whose history gives the forecast its throughput, and the
"labeling x 0.5 from Tuesday: annotation tool bug" adjustment. Idempotent: running it again
creates nothing new. Everything goes through the services, as a user's changes would.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from dependencies.models import DependencyLink
from dependencies.services import link_create
from quality.demo import load_quality_demo
from sprints.models import Sprint
from teams.models import Membership, Team
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_create, ticket_update

from . import services as planning_services
from .capacity import working_days
from .models import CapacityAdjustment, SprintGoal, TeamCapacity

GOAL = "Deliver a v1.1 image classifier that identifies Class X with > 90% accuracy."


@dataclass(frozen=True)
class DemoUser:
    username: str
    name: str
    role: str
    team: str | None = None
    team_role: str | None = None


USERS = [
    DemoUser("sam", "Sam Rivera", User.ProductRole.SCRUM_MASTER),
    DemoUser("paula", "Paula Chen", User.ProductRole.PRODUCT_OWNER),
    DemoUser("maya", "Maya Okafor", User.ProductRole.TEAM, "ML", "lead"),
    DemoUser("mo", "Mo Haddad", User.ProductRole.TEAM, "ML", "member"),
    DemoUser("lena", "Lena Novak", User.ProductRole.TEAM, "LAB", "lead"),
    DemoUser("leo", "Leo Park", User.ProductRole.TEAM, "LAB", "member"),
    DemoUser("lia", "Lia Santos", User.ProductRole.TEAM, "LAB", "member"),
    DemoUser("luis", "Luis Romero", User.ProductRole.TEAM, "LAB", "member"),
    DemoUser("quinn", "Quinn Adebayo", User.ProductRole.TEAM, "QA", "lead"),
    DemoUser("vic", "Vic Laurent", User.ProductRole.VIEWER),
]

TEAMS = [
    # prefix, name, kind, unit, unit label, units per person-day
    ("LAB", "Data Labeling", Team.Kind.LABELING, Team.Unit.ITEMS, "images", 60),
    ("ML", "ML Engineering", Team.Kind.ML, Team.Unit.POINTS, "points", 1),
    ("QA", "QA", Team.Kind.QA, Team.Unit.POINTS, "points", 1),
]

# team prefix, title, type, size, assignee, in the sprint?
TICKETS = [
    ("LAB", "Label 1000 images for Class X", Ticket.Type.LABELING_BATCH, 1000, "lena", True),
    ("ML", "Set up retraining pipeline", Ticket.Type.TASK, 3, "maya", True),
    ("ML", "Train v1.1 model", Ticket.Type.TRAINING_RUN, 5, "mo", True),
    ("QA", "Create Class X test set", Ticket.Type.TASK, 3, "quinn", True),
    ("QA", "Run accuracy validation suite", Ticket.Type.VALIDATION, 2, "quinn", True),
    ("ML", "Spike: semi-supervised use of unlabeled images", Ticket.Type.SPIKE, 3, None, False),
    ("LAB", "Label 500 edge-case images (low light)", Ticket.Type.LABELING_BATCH, 500, None, False),
    ("QA", "Automate data-quality checks on new batches", Ticket.Type.STORY, 5, None, False),
]

# blocker title -> blocked title (finish-to-start)
LINKS = [
    ("Label 1000 images for Class X", "Train v1.1 model"),
    ("Set up retraining pipeline", "Train v1.1 model"),
    ("Train v1.1 model", "Run accuracy validation suite"),
    ("Create Class X test set", "Run accuracy validation suite"),
]

# (days before today, title, changes): a few days of recorded work, oldest first
HISTORY = [
    (4, "Label 1000 images for Class X", {"status": "in_progress", "progress": 150}),
    (4, "Set up retraining pipeline", {"status": "in_progress", "progress": 1}),
    (3, "Label 1000 images for Class X", {"progress": 310}),
    (3, "Create Class X test set", {"status": "in_progress", "progress": 1}),
    (2, "Set up retraining pipeline", {"progress": 2}),
    (1, "Label 1000 images for Class X", {"progress": 430}),
    (1, "Train v1.1 model", {"status": "todo"}),
    (1, "Run accuracy validation suite", {"status": "todo"}),
]


def sprint_dates(today: date) -> tuple[date, date]:
    """A two-week sprint that began on the Monday of this week (or last week's, on Mondays)."""
    start = today - timedelta(days=today.weekday() or 7)
    return start, start + timedelta(days=11)


@transaction.atomic
def load_sprint_demo(*, password: str, today: date | None = None) -> list[DemoUser]:
    """Seed scenarios 1 and 2; returns the demo logins it made sure of."""
    today = today or timezone.localdate()
    users = _users(password)
    teams = _teams(users)
    scrum_master = users["sam"]
    start, end = sprint_dates(today)
    sprint, created = Sprint.objects.get_or_create(
        name="Sprint 14 · Class X",
        defaults={"start_date": start, "end_date": end, "state": Sprint.State.ACTIVE, "goal": GOAL},
    )
    if created:
        tickets = _tickets(scrum_master, teams, users, sprint)
        for blocker, blocked in LINKS:
            if not DependencyLink.objects.filter(
                blocker=tickets[blocker], blocked=tickets[blocked]
            ).exists():
                link_create(actor=scrum_master, blocker=tickets[blocker], blocked=tickets[blocked])
        _dated_planning(tickets, start)
        _history(users, tickets, today)
    _scenario_two(users, teams, sprint)
    _next_sprint(sprint)
    if created:
        # The shared Definition of Done, agreed in this sprint's planning (after the
        # recorded past work), with the agreement evidence so far.
        load_quality_demo(users, teams, tickets)
    return USERS


def _users(password: str) -> dict[str, User]:
    return ensure_demo_users(USERS, password)


def ensure_demo_users(specs, password: str) -> dict[str, User]:
    """The demo logins of `specs`, created with `password` where missing (idempotent)."""
    hashed = make_password(password)  # once: hashing costs ~0.3 s a user
    users = {}
    for spec in specs:
        first, last = spec.name.split(" ", 1)
        user, _ = User.objects.get_or_create(
            username=spec.username,
            defaults={
                "first_name": first,
                "last_name": last,
                "product_role": spec.role,
                "email": f"{spec.username}@example.com",
                "is_staff": spec.username == "sam",
                "password": hashed,
            },
        )
        users[spec.username] = user
    return users


def _teams(users: dict[str, User]) -> dict[str, Team]:
    teams = {}
    for prefix, name, kind, unit, label, rate in TEAMS:
        team, _ = Team.objects.get_or_create(
            key_prefix=prefix,
            defaults={
                "name": name,
                "kind": kind,
                "unit": unit,
                "unit_label": label,
                "default_rate": rate,
            },
        )
        teams[prefix] = team
    for spec in USERS:
        if spec.team:
            Membership.objects.get_or_create(
                user=users[spec.username], team=teams[spec.team], defaults={"role": spec.team_role}
            )
    return teams


def _tickets(actor, teams, users, sprint) -> dict[str, Ticket]:
    tickets = {}
    for prefix, title, type_, size, assignee, planned in TICKETS:
        ticket = Ticket.objects.filter(team=teams[prefix], title=title).first()
        if ticket is None:
            ticket = ticket_create(
                actor=actor,
                team=teams[prefix],
                title=title,
                type=type_,
                size=size,
                status=Ticket.Status.TODO if planned else Ticket.Status.BACKLOG,
                sprint=sprint if planned else None,
                assignee=users.get(assignee) if assignee else None,
            )
        tickets[title] = ticket
    return tickets


def _dated_planning(tickets, sprint_start: date) -> None:
    """The tickets and links were made at sprint planning, the working day before the
    sprint: date their history so, not "just now" (it would fill "what changed since
    yesterday")."""
    planning_day = sprint_start - timedelta(days=3 if sprint_start.weekday() == 0 else 1)
    when = timezone.make_aware(datetime.combine(planning_day, time(10, 0)))
    TicketEvent.objects.filter(
        ticket__in=list(tickets.values()), field__in=["created", "blocks", "blocked_by"]
    ).update(at=when)


def _history(users, tickets, today: date) -> None:
    """Replay the recorded days through the service as each team's lead, then date each
    change on its day."""
    leads = {spec.team: users[spec.username] for spec in USERS if spec.team_role == "lead"}
    for days_ago, title, changes in HISTORY:
        ticket = Ticket.objects.select_related("team").get(pk=tickets[title].pk)
        actor = leads[ticket.team.key_prefix]
        before = set(TicketEvent.objects.filter(ticket=ticket).values_list("id", flat=True))
        ticket_update(ticket=ticket, actor=actor, changes=changes, expected_version=ticket.version)
        when = timezone.make_aware(datetime.combine(today - timedelta(days=days_ago), time(16, 0)))
        TicketEvent.objects.filter(ticket=ticket).exclude(id__in=before).update(at=when)


# --- scenario 2: capacity, throughput history, the tool bug ----------------------------------

# team prefix: focus factor, {username: (part-time %, days off as working-day offsets from the
# sprint's start)}
CAPACITY = {
    "LAB": ("0.8", {"luis": (50, ()), "leo": (100, (8,))}),
    "ML": ("0.7", {"mo": (100, (4,))}),
    "QA": ("0.8", {}),
}

PREVIOUS_SPRINT = "Sprint 13 · Baseline model"
# team prefix, title, type, units done per working day of the previous sprint (zero days too)
BASELINE_WORK = [
    (
        "LAB",
        "Label 1800 baseline images",
        Ticket.Type.LABELING_BATCH,
        (180, 220, 0, 200, 240, 160, 200, 220, 190, 190),
    ),
    ("ML", "Train v1.0 baseline model", Ticket.Type.TRAINING_RUN, (2, 3, 0, 2, 3, 2, 2, 3, 2, 1)),
    ("QA", "Validate v1.0 baseline", Ticket.Type.VALIDATION, (1, 2, 1, 0, 2, 1, 2, 1, 1, 1)),
]
TOOL_BUG = "annotation tool bug"


def _scenario_two(users, teams, sprint: Sprint) -> None:
    _capacities(users["sam"], teams, sprint)
    _previous_sprint(users, teams, sprint)
    if not SprintGoal.objects.filter(sprint=sprint).exists():
        planning_services.goal_create(
            actor=users["paula"],
            sprint=sprint,
            text=GOAL,
            ticket_keys=list(sprint.tickets.values_list("key", flat=True)),
        )
    if not CapacityAdjustment.objects.filter(sprint=sprint, reason=TOOL_BUG).exists():
        tuesday = sprint.start_date + timedelta(days=1)
        planning_services.adjustment_create(
            actor=users["lena"],
            sprint=sprint,
            team=teams["LAB"],
            from_date=tuesday,
            to_date=sprint.end_date,
            factor="0.5",
            reason=TOOL_BUG,
        )


def _capacities(actor, teams, sprint: Sprint) -> None:
    if TeamCapacity.objects.filter(sprint=sprint).exists():
        return
    sprint_days = working_days(sprint.start_date, sprint.end_date)
    for prefix, (focus, people) in CAPACITY.items():
        planning_services.capacity_update(
            actor=actor,
            sprint=sprint,
            team=teams[prefix],
            focus_factor=focus,
            availability=[
                {
                    "user": username,
                    "part_time_percent": part_time,
                    "days_off": [sprint_days[offset] for offset in days_off],
                }
                for username, (part_time, days_off) in people.items()
            ],
        )


def _previous_sprint(users, teams, sprint: Sprint) -> None:
    """A closed two-week sprint before this one, its work recorded day by day."""
    start = sprint.start_date - timedelta(days=14)
    previous, created = Sprint.objects.get_or_create(
        name=PREVIOUS_SPRINT,
        defaults={
            "start_date": start,
            "end_date": start + timedelta(days=11),
            "state": Sprint.State.CLOSED,
            "goal": "Ship a v1.0 baseline classifier.",
        },
    )
    if not created:
        return
    leads = {spec.team: users[spec.username] for spec in USERS if spec.team_role == "lead"}
    days = working_days(previous.start_date, previous.end_date)
    for prefix, title, type_, per_day in BASELINE_WORK:
        ticket = ticket_create(
            actor=users["sam"],
            team=teams[prefix],
            title=title,
            type=type_,
            size=sum(per_day),
            status=Ticket.Status.IN_PROGRESS,
            sprint=previous,
        )
        done = 0
        for day, units in zip(days, per_day, strict=True):
            if units:
                done += units
                changes = {"progress": done}
                if done == sum(per_day):
                    changes["status"] = Ticket.Status.DONE
                _dated_update(leads[prefix], ticket, changes, day)


def _dated_update(actor, ticket: Ticket, changes: dict, day: date) -> None:
    ticket = Ticket.objects.get(pk=ticket.pk)
    before = set(TicketEvent.objects.filter(ticket=ticket).values_list("id", flat=True))
    ticket_update(ticket=ticket, actor=actor, changes=changes, expected_version=ticket.version)
    when = timezone.make_aware(datetime.combine(day, time(16, 0)))
    TicketEvent.objects.filter(ticket=ticket).exclude(id__in=before).update(at=when)


def _next_sprint(sprint: Sprint) -> Sprint:
    """The following sprint, in planning and empty: the planning room's starting point."""
    start = sprint.end_date + timedelta(days=3)
    following, _ = Sprint.objects.get_or_create(
        name="Sprint 15 · v1.2",
        defaults={
            "start_date": start,
            "end_date": start + timedelta(days=11),
            "state": Sprint.State.PLANNING,
            "goal": "Harden Class X on low-light images.",
        },
    )
    return following
