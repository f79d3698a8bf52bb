"""Seed scenario 3 of the product brief: a multi-sprint initiative.

A recommendation engine: a 3-month labeling effort, monthly ML milestones and integration QA
before a hard release date; three ML squads share one labeling operation (the demo's LAB
team) and one QA team. Program "Recommendation engine", PI "PI 1 · Launch" of six two-week
iterations that began four weeks ago (I1-I2 closed, I3 active, I4-I6 in planning), and the
closed "PI 0 · Pilot" before it with scored objectives, so predictability has a history.

What it seeds: the squads and their people, features per team with tickets over the
iterations, cross-team links (labeling -> ML -> QA integration) of every health, recorded
history (labeling progress day by day, done events) so throughput exists, MLflow evidence of
a converging ranking metric, bugs found after their feature was done, monthly ML milestones
and the hard release milestone, objectives with business value, program risks in several
ROAM states, a RACI matrix, decision records, and the PI forecast with its recent history.

Called by web.demo.load_demo after the sprint demo (inside its transaction). Idempotent: once the
program exists it does nothing. Everything a user could do goes through the services; the
few facts no service writes (dating past events, the PI's and closed sprints' state, past
forecast runs) are written in the clearly marked `_orm_*` functions.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from accounts.models import User
from dependencies.services import link_create
from planning.capacity import working_days
from planning.demo import DemoUser, ensure_demo_users, sprint_dates
from planning.services import sprint_create, sprint_update
from quality.models import Criterion, DefinitionOfDone, Evidence
from quality.services import acceptance_criterion_add, evidence_record
from sprints.models import Sprint
from teams.models import Membership, Team
from teams.services import membership_set, team_create
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_create, ticket_update

from .models import PlanningInterval, Program, ProgramForecastRun
from .services import board as board_services
from .services import governance as governance_services

PROGRAM = "Recommendation engine"
PI_NAME = "PI 1 · Launch"
PREVIOUS_PI = "PI 0 · Pilot"

PROGRAM_USERS = [
    DemoUser("rita", "Rita Moreau", User.ProductRole.TEAM, "RET", "lead"),
    DemoUser("raj", "Raj Patel", User.ProductRole.TEAM, "RNK", "lead"),
    DemoUser("ravi", "Ravi Iyer", User.ProductRole.TEAM, "RNK", "member"),
    DemoUser("priya", "Priya Das", User.ProductRole.TEAM, "PRS", "lead"),
]

SQUADS = [
    # prefix, name
    ("RET", "Retrieval squad"),
    ("RNK", "Ranking squad"),
    ("PRS", "Personalization squad"),
]
LEADS = {"LAB": "lena", "QA": "quinn", "RET": "rita", "RNK": "raj", "PRS": "priya"}


@dataclass(frozen=True)
class Spec:
    team: str
    title: str
    type: str
    size: int
    iteration: int
    feature: str


T = Ticket.Type
# ref -> what it is. Labeling batches in images; squads and QA in points.
TICKETS = {
    "b1": Spec(
        "LAB", "Label 1,800 product images: apparel attributes", T.LABELING_BATCH, 1800, 1, "lab"
    ),
    "b2": Spec(
        "LAB", "Label 800 product images: home goods attributes", T.LABELING_BATCH, 800, 2, "lab"
    ),
    "b3": Spec(
        "LAB",
        "Label 2,000 product images: electronics attributes",
        T.LABELING_BATCH,
        2000,
        3,
        "lab",
    ),
    "b4": Spec(
        "LAB", "Label 2,000 product images: beauty attributes", T.LABELING_BATCH, 2000, 4, "lab"
    ),
    "b5": Spec(
        "LAB", "Label 2,000 product images: long-tail categories", T.LABELING_BATCH, 2000, 5, "lab"
    ),
    "labbug": Spec("LAB", "Mislabeled colour attribute in apparel batch", T.BUG, 1, 1, "lab"),
    "ret1": Spec("RET", "Candidate generation pipeline", T.TASK, 5, 1, "ret0"),
    "ret2": Spec("RET", "Train two-tower retrieval v0", T.STORY, 8, 2, "ret0"),
    "retbug1": Spec("RET", "Embedding NaNs for users without history", T.BUG, 2, 2, "ret0"),
    "retbug2": Spec("RET", "Duplicate candidates for new users", T.BUG, 2, 3, "ret0"),
    "ret3": Spec("RET", "Image embedding extractor", T.TASK, 5, 3, "ret1"),
    "ret4": Spec("RET", "Train retrieval v1 with product attributes", T.TRAINING_RUN, 8, 4, "ret1"),
    "rnk1": Spec("RNK", "Ranking feature store", T.TASK, 5, 1, "rnk1"),
    "rnk0": Spec("RNK", "Popularity baseline for ranking comparisons", T.TASK, 5, 2, "rnk1"),
    "rnk2": Spec("RNK", "Ranking features from product attributes", T.TASK, 5, 3, "rnk1"),
    "rnk3": Spec("RNK", "Train ranker v1", T.TRAINING_RUN, 8, 3, "rnk1"),
    "rnkbug": Spec("RNK", "Feature leakage in the ranker training set", T.BUG, 2, 3, "rnk1"),
    "rnk4": Spec("RNK", "Train ranker v1.1 on long-tail categories", T.TRAINING_RUN, 5, 4, "rnk2"),
    "prs1": Spec("PRS", "Session features pipeline", T.TASK, 5, 1, "prs0"),
    "prs2": Spec("PRS", "Cold-start heuristics", T.STORY, 3, 2, "prs0"),
    "prsbug": Spec("PRS", "Session timeout off by one hour", T.BUG, 1, 3, "prs0"),
    "prs3": Spec("PRS", "User embedding service", T.TASK, 5, 4, "prs1"),
    "prs4": Spec("PRS", "Train personalization model", T.TRAINING_RUN, 8, 5, "prs1"),
    "qa1": Spec("QA", "Held-out session test set for retrieval", T.TASK, 3, 1, "qa"),
    "qa0": Spec("QA", "Validate the retrieval baseline offline", T.TASK, 3, 2, "qa"),
    "qa2": Spec("QA", "Integration tests: recommendation API", T.TASK, 5, 4, "qa"),
    "qa3": Spec("QA", "A/B test plan sign-off", T.TASK, 2, 3, "qa"),
    "qa4": Spec("QA", "Load test the recommendation API", T.TASK, 3, 5, "qa"),
    "qa5": Spec("QA", "End-to-end release validation", T.TASK, 3, 6, "qa"),
}

# blocker -> blocked. Health as planned: b3->rnk2 orange, ret4->qa2 orange, b5->rnk4 red
# (the labeling batch is planned after the training that needs it), prs4->qa3 red.
LINKS = [
    ("b1", "ret2"),
    ("ret1", "ret2"),
    ("ret2", "rnk3"),
    ("rnk1", "rnk3"),
    ("b3", "ret4"),
    ("ret3", "ret4"),
    ("b3", "rnk2"),
    ("b5", "rnk4"),
    ("rnk3", "prs4"),
    ("prs3", "prs4"),
    ("ret4", "qa2"),
    ("prs4", "qa3"),
    ("ret4", "qa4"),
    ("qa2", "qa5"),
    ("rnk4", "qa5"),
    ("prs4", "qa5"),
]

# feature ref -> (team, title, planned iteration, milestone ref)
FEATURES = {
    "lab": ("LAB", "Product attribute labels (8,600 images)", 5, "release"),
    "ret0": ("RET", "Two-tower retrieval baseline", 2, "m1"),
    "ret1": ("RET", "Attribute-aware retrieval", 4, "m2"),
    "rnk1": ("RNK", "Ranking model v1", 3, "m2"),
    "rnk2": ("RNK", "Long-tail ranking", 4, "m2"),
    "prs0": ("PRS", "Session features", 2, "m1"),
    "prs1": ("PRS", "Personalized re-ranking", 5, "m3"),
    "qa": ("QA", "Integration QA for the release", 6, "release"),
}

# Labeling output per working day of each closed or running iteration (zero days too).
LABELING = {
    "b1": (220, 180, 0, 200, 240, 210, 190, 230, 0, 330),
    "b2": (90, 110, 0, 120, 100, 80, 0, 110, 120, 70),
    "b3": (100, 60, 0, 90, 110, 80, 70, 0, 90),  # cut at today
}

# (ref, iteration, working-day index, changes): squad and QA work, oldest first
WORK = [
    ("ret1", 1, 0, {"status": "in_progress"}),
    ("prs1", 1, 1, {"status": "in_progress"}),
    ("rnk1", 1, 0, {"status": "in_progress"}),
    ("qa1", 1, 3, {"status": "in_progress"}),
    ("ret1", 1, 6, {"status": "done"}),
    ("prs1", 1, 7, {"status": "done"}),
    ("rnk1", 1, 8, {"status": "done"}),
    ("qa1", 1, 9, {"status": "done"}),
    ("ret2", 2, 0, {"status": "in_progress"}),
    ("prs2", 2, 0, {"status": "in_progress"}),
    ("rnk0", 2, 0, {"status": "in_progress"}),
    ("qa0", 2, 2, {"status": "in_progress"}),
    ("retbug1", 2, 4, {"status": "done"}),
    ("prs2", 2, 4, {"status": "done"}),
    ("rnk0", 2, 6, {"status": "done"}),
    ("ret2", 2, 8, {"status": "done"}),
    ("qa0", 2, 9, {"status": "done"}),
    ("ret3", 3, 0, {"status": "in_progress"}),
    ("rnk3", 3, 0, {"status": "in_progress"}),
    ("retbug2", 3, 1, {"status": "done"}),
    ("prsbug", 3, 2, {"status": "done"}),
]
# Bugs found (created) on (iteration, working-day index): the others exist from planning.
FOUND = {"labbug": (1, 8), "retbug1": (2, 3), "retbug2": (3, 0), "rnkbug": (3, 1), "prsbug": (3, 1)}

# MLflow runs of "Train ranker v1": NDCG@10 converging (last three within 0.002).
NDCG_RUNS = ["0.312", "0.351", "0.372", "0.3811", "0.3855", "0.3862", "0.3868"]


def load_program_demo(*, password: str, today: date | None = None) -> list[DemoUser]:
    """Seed scenario 3 once; later calls change nothing."""
    today = today or timezone.localdate()
    if Program.objects.filter(name=PROGRAM).exists():
        return PROGRAM_USERS
    users = _users(password)
    sam, paula = users["sam"], users["paula"]
    teams = _teams(sam, users)
    program = board_services.program_create(
        actor=sam,
        name=PROGRAM,
        description=(
            "Product recommendations for the web shop: retrieval, ranking and "
            "personalization squads on one labeling operation and one QA team, towards a "
            "hard platform release date."
        ),
        team_ids=[teams[key].pk for key in ("LAB", "RET", "RNK", "PRS", "QA")],
    )
    previous = _previous_pi(sam, paula, program, teams, today)
    pi, sprints = _current_pi(sam, program, today)
    milestones = _milestones(sam, pi, sprints)
    tickets = _tickets(sam, teams, sprints)
    for blocker, blocked in LINKS:
        link_create(actor=sam, blocker=tickets[blocker], blocked=tickets[blocked])
    features = _features(sam, pi, teams, sprints, milestones, tickets)
    _history(users, teams, tickets, sprints, today)
    _mlflow_runs(users, tickets["rnk3"], sprints[3], today)
    _orm_close_iterations(sam, sprints, today)
    _objectives(paula, pi, teams, features)
    _risks(users, pi, teams, tickets, today)
    _raci(sam, program)
    _decisions(users, program, tickets, sprints)
    _orm_set_pi_states(previous, pi)
    _forecast(pi, today)
    return PROGRAM_USERS


def _users(password: str) -> dict[str, User]:
    users = {user.username: user for user in User.objects.filter(username__in=["sam", "paula"])}
    users.update(ensure_demo_users(PROGRAM_USERS, password))
    users.update(
        {u.username: u for u in User.objects.filter(username__in=["lena", "quinn", "maya"])}
    )
    return users


def _teams(actor, users) -> dict[str, Team]:
    teams = {team.key_prefix: team for team in Team.objects.filter(key_prefix__in=["LAB", "QA"])}
    for prefix, name in SQUADS:
        team = Team.objects.filter(key_prefix=prefix).first() or team_create(
            actor=actor,
            name=name,
            key_prefix=prefix,
            kind=Team.Kind.ML,
            unit=Team.Unit.POINTS,
            unit_label="points",
            default_rate=2,
        )
        teams[prefix] = team
    for spec in PROGRAM_USERS:
        if not Membership.objects.filter(user=users[spec.username], team=teams[spec.team]).exists():
            membership_set(
                actor=actor, team=teams[spec.team], user=users[spec.username], role=spec.team_role
            )
    return teams


def _iteration_dates(first_start: date, count: int = 6) -> list[tuple[date, date]]:
    starts = [first_start + timedelta(weeks=2 * n) for n in range(count)]
    return [(start, start + timedelta(days=11)) for start in starts]


def _sprints(actor, prefix: str, first_start: date, goals: list[str]) -> list[Sprint]:
    sprints = []
    for number, (start, end) in enumerate(_iteration_dates(first_start), start=1):
        sprints.append(
            sprint_create(
                actor=actor,
                name=f"{prefix} · I{number}",
                start_date=start,
                end_date=end,
                goal=goals[number - 1],
            )
        )
    return sprints


def _previous_pi(sam, paula, program, teams, today: date) -> PlanningInterval:
    """The pilot PI, twelve weeks before this one: closed, its objectives scored."""
    start = sprint_dates(today)[0] - timedelta(weeks=16)
    goals = [
        "Pilot: " + goal
        for goal in (
            "data audit",
            "first labels",
            "popularity baseline",
            "offline metrics",
            "shadow traffic",
            "pilot review",
        )
    ]
    sprints = _sprints(sam, "RE PI0", start, goals)
    pi = board_services.pi_create(
        actor=sam, program=program, name=PREVIOUS_PI, sprint_ids=[s.pk for s in sprints]
    )
    for sprint in sprints:
        sprint_update(actor=sam, sprint=sprint, changes={"state": Sprint.State.CLOSED})
    # team, title, committed, planned, actual (predictability: 36 / 38 = 94.7%)
    scored = [
        ("LAB", "Label a 3,000-image pilot set at ≥ 98% agreement", True, 8, 7),
        ("RET", "Popularity baseline serving in shadow", True, 9, 8),
        ("RNK", "Offline ranking metrics pipeline", True, 7, 5),
        ("PRS", "Session logging for personalization", True, 6, 6),
        ("PRS", "Stretch: first user embeddings", False, 3, 2),
        ("QA", "Shadow-traffic comparison report", True, 8, 8),
    ]
    for team, title, committed, planned, actual in scored:
        governance_services.objective_create(
            actor=paula,
            pi=pi,
            team=teams[team],
            title=title,
            committed=committed,
            planned_value=planned,
            actual_value=actual,
        )
    return pi


def _current_pi(sam, program, today: date) -> tuple[PlanningInterval, list[Sprint]]:
    """Six two-week iterations; the third is the one running now (Sprint 14's fortnight)."""
    start = sprint_dates(today)[0] - timedelta(weeks=4)
    goals = [
        "Candidate generation and the first labeled batch",
        "Retrieval baseline (ML milestone 1)",
        "Ranker v1 training on attribute labels",
        "Attribute-aware retrieval and ranking (ML milestone 2)",
        "Personalized re-ranking and load tests",
        "Integration QA and release",
    ]
    sprints = _sprints(sam, "RE PI1", start, goals)
    pi = board_services.pi_create(
        actor=sam, program=program, name=PI_NAME, sprint_ids=[s.pk for s in sprints]
    )
    return pi, sprints


def _milestones(actor, pi, sprints) -> dict:
    """Monthly ML milestones and the hard platform release at the PI's end."""
    create = board_services.milestone_create
    return {
        "m1": create(
            actor=actor,
            pi=pi,
            name="ML milestone 1: retrieval baseline",
            date=sprints[1].end_date,
            kind="ml",
        ),
        "m2": create(
            actor=actor,
            pi=pi,
            name="ML milestone 2: ranking v1",
            date=sprints[3].end_date,
            kind="ml",
        ),
        "m3": create(
            actor=actor,
            pi=pi,
            name="ML milestone 3: personalization",
            date=sprints[5].start_date + timedelta(days=4),
            kind="ml",
        ),
        "release": create(
            actor=actor,
            pi=pi,
            name="Platform release",
            date=sprints[5].end_date,
            kind="release",
            hard=True,
        ),
    }


def _tickets(actor, teams, sprints) -> dict[str, Ticket]:
    return {
        ref: ticket_create(
            actor=actor,
            team=teams[spec.team],
            title=spec.title,
            type=spec.type,
            size=spec.size,
            status=Ticket.Status.TODO,
            sprint=sprints[spec.iteration - 1],
        )
        for ref, spec in TICKETS.items()
    }


def _features(actor, pi, teams, sprints, milestones, tickets) -> dict:
    features = {}
    for ref, (team, title, iteration, milestone) in FEATURES.items():
        features[ref] = board_services.feature_create(
            actor=actor,
            pi=pi,
            team=teams[team],
            title=title,
            planned_sprint=sprints[iteration - 1],
            milestone=milestones[milestone],
            ticket_keys=[tickets[t].key for t, spec in TICKETS.items() if spec.feature == ref],
        )
    return features


def _day(sprints, iteration: int, index: int) -> date:
    sprint = sprints[iteration - 1]
    return working_days(sprint.start_date, sprint.end_date)[index]


def _history(users, teams, tickets, sprints, today: date) -> None:
    """Replay the past four weeks through the services, each change dated on its day: the
    labeling batches day by day (throughput), squad and QA work, bugs found along the way."""
    events = []  # (day, order, callable)
    iaa = _criterion("iaa")
    for ref, per_day in LABELING.items():
        spec = TICKETS[ref]
        days = working_days(sprints[spec.iteration - 1].start_date, today - timedelta(days=1))
        done = 0
        for day, units in zip(days, per_day, strict=False):
            if not units:
                continue
            changes = {"progress": done + units}
            if done == 0:
                changes["status"] = Ticket.Status.IN_PROGRESS
            done += units
            if done >= spec.size:
                changes["status"] = Ticket.Status.DONE
            events.append((day, 0, ref, changes))
    events += _steady_progress(sprints, today)
    for ref, (iteration, index) in FOUND.items():
        _orm_date_creation(tickets[ref], _day(sprints, iteration, index))
    for day, _, ref, changes in sorted(events, key=lambda event: (event[0], event[1])):
        if day >= today:
            continue
        ticket = tickets[ref]
        lead = users[LEADS[TICKETS[ref].team]]
        if changes.get("status") == Ticket.Status.DONE and iaa and ticket.type == T.LABELING_BATCH:
            evidence_record(
                actor=lead,
                criterion=iaa,
                ticket=ticket,
                value="0.985",
                details={"tasks_compared": 150},
            )
        _dated_update(lead, ticket, changes, day)


def _steady_progress(sprints, today: date) -> list:
    """WORK's starts and finishes, with the points in between recorded day by day: a
    ticket's size spread evenly over its working days, so each team has a daily throughput."""
    events, started = [], {}
    for ref, iteration, index, changes in WORK:
        day = _day(sprints, iteration, index)
        if changes.get("status") == Ticket.Status.IN_PROGRESS:
            started[ref] = day
        elif ref in started:
            days = working_days(started[ref], day)
            size = TICKETS[ref].size
            for n, step_day in enumerate(days[:-1], start=1):
                events.append((step_day, 1, ref, {"progress": size * n // len(days)}))
        events.append((day, 2, ref, changes))
    for ref, day in started.items():  # still running: steady progress up to yesterday
        if not any(r == ref and c.get("status") == Ticket.Status.DONE for r, _, _, c in WORK):
            days = working_days(day, today - timedelta(days=1))
            for n, step_day in enumerate(days, start=1):
                progress = TICKETS[ref].size * n // (len(days) + 3)
                if progress:
                    events.append((step_day, 1, ref, {"progress": progress}))
    return events


def _criterion(code: str) -> Criterion | None:
    definition = DefinitionOfDone.objects.order_by("-version").first()
    return definition.criteria.filter(code=code).first() if definition else None


def _dated_update(actor, ticket: Ticket, changes: dict, day: date) -> None:
    ticket = Ticket.objects.get(pk=ticket.pk)
    before = set(TicketEvent.objects.filter(ticket=ticket).values_list("id", flat=True))
    ticket_update(ticket=ticket, actor=actor, changes=changes, expected_version=ticket.version)
    _orm_date_events(ticket, before, day)


def _mlflow_runs(users, ticket: Ticket, sprint: Sprint, today: date) -> None:
    """The ranker's acceptance criterion and one MLflow run a working day, converging."""
    raj = users["raj"]
    criterion = acceptance_criterion_add(
        actor=raj,
        ticket=ticket,
        code="ndcg-at-10",
        text="NDCG@10 ≥ 0.38 on held-out sessions",
        kind=Criterion.Kind.METRIC,
        metric_key="ndcg_at_10",
        comparator=">=",
        threshold="0.38",
    )
    start = today - timedelta(days=len(NDCG_RUNS) + 3)
    days = working_days(start, today)[-len(NDCG_RUNS) :]
    for number, (value, day) in enumerate(zip(NDCG_RUNS, days, strict=False), start=1):
        run_id = f"{number:02d}e7c1a94b2d4f8e3c6a5b0d9f{number:06d}"
        evidence = evidence_record(
            actor=raj,
            criterion=criterion,
            ticket=ticket,
            value=value,
            source=Evidence.Source.MLFLOW,
            recorded_by_name="MLflow",
            source_url=f"http://mlflow.example.com/#/experiments/7/runs/{run_id}",
            details={
                "run_id": run_id,
                "run_status": "FINISHED",
                "model": "ranker",
                "model_version": str(number),
            },
        )
        _orm_date_evidence(evidence, day)


def _objectives(paula, pi, teams, features) -> None:
    objectives = [
        ("LAB", "Deliver 8,600 labeled product images at ≥ 98% agreement", True, 9, ["lab"]),
        ("RET", "Retrieval baseline online for ML milestone 1", True, 8, ["ret0"]),
        ("RET", "Attribute-aware retrieval", True, 7, ["ret1"]),
        ("RNK", "Ranker v1 beats the popularity baseline by 5% NDCG", True, 9, ["rnk1"]),
        ("RNK", "Stretch: long-tail ranking", False, 4, ["rnk2"]),
        ("PRS", "Session features in production", True, 6, ["prs0"]),
        ("PRS", "Personalized re-ranking for returning users", True, 8, ["prs1"]),
        ("QA", "Release passes integration and load tests", True, 9, ["qa"]),
    ]
    for team, title, committed, planned, refs in objectives:
        governance_services.objective_create(
            actor=paula,
            pi=pi,
            team=teams[team],
            title=title,
            committed=committed,
            planned_value=planned,
            feature_ids=[features[ref].pk for ref in refs],
        )


def _risks(users, pi, teams, tickets, today: date) -> None:
    sam = users["sam"]
    raise_ = governance_services.program_risk_raise
    roam = governance_services.program_risk_roam

    def new(title, likelihood, impact, team=None, delay=0, keys=(), description=""):
        return raise_(
            actor=sam,
            pi=pi,
            title=title,
            description=description,
            likelihood=likelihood,
            impact=impact,
            team=team,
            expected_delay_days=delay,
            ticket_keys=keys,
        )

    vendor = new(
        "Annotation vendor cannot staff the long-tail batch before I5",
        3,
        3,
        teams["LAB"],
        5,
        [tickets["b5"].key],
        "The long-tail batch needs specialist annotators; the vendor confirms in a week.",
    )
    roam(
        actor=sam,
        risk=vendor,
        state="owned",
        expected_version=vendor.version,
        owner=users["lena"],
        follow_up=today + timedelta(days=3),
    )
    gpu = new("GPU quota for ranker training runs out in I4", 2, 2, teams["RNK"], 3)
    roam(
        actor=sam,
        risk=gpu,
        state="owned",
        expected_version=gpu.version,
        owner=users["raj"],
        follow_up=today + timedelta(days=10),
    )
    cold = new("Cold-start users get poor recommendations at launch", 2, 3, teams["PRS"])
    roam(
        actor=sam,
        risk=cold,
        state="mitigated",
        expected_version=cold.version,
        ticket_keys=[tickets["prs2"].key],
    )
    freeze = new("Release date collides with the marketing code freeze", 1, 3)
    roam(
        actor=sam,
        risk=freeze,
        state="accepted",
        expected_version=freeze.version,
        note="Marketing agreed to a one-day exception for the release.",
    )
    taxonomy = new("Catalog attribute taxonomy changes mid-PI", 2, 2, teams["LAB"])
    roam(
        actor=sam,
        risk=taxonomy,
        state="resolved",
        expected_version=taxonomy.version,
        note="Taxonomy frozen until the release (DR-1).",
    )
    new("Load-test environment not ready before I5", 2, 2, teams["QA"], 2)


def _raci(actor, program) -> None:
    rows = [
        ("Data quality checks", {"LAB": "A", "QA": "R", "RET": "C", "RNK": "C", "PRS": "C"}),
        (
            "Labeling priorities",
            {
                "product_owner": "A",
                "LAB": "R",
                "RET": "C",
                "RNK": "C",
                "PRS": "C",
                "scrum_master": "I",
            },
        ),
        ("Model sign-off", {"RNK": "A", "RET": "R", "PRS": "R", "QA": "C", "product_owner": "I"}),
        (
            "Release decision",
            {
                "product_owner": "A",
                "scrum_master": "R",
                "QA": "C",
                "LAB": "I",
                "RET": "I",
                "RNK": "I",
                "PRS": "I",
            },
        ),
    ]
    for name, row in rows:
        governance_services.raci_activity_create(actor=actor, program=program, name=name, row=row)


def _decisions(users, program, tickets, sprints) -> None:
    record = governance_services.decision_create
    record(
        actor=users["sam"],
        program=program,
        title="Label product images in-house, with the vendor for peaks only",
        context="Attribute labels need catalog knowledge; the vendor's agreement was 0.93.",
        decision="The labeling team labels all batches; the vendor helps on the long-tail "
        "batch only, reviewed by the team.",
        consequences="Labeling is the shared bottleneck: batches are planned one iteration "
        "ahead of the training that needs them.",
        status="accepted",
        decided_on=sprints[0].start_date,
        ticket_keys=[tickets["b1"].key, tickets["b5"].key],
        sprint_ids=[sprints[0].pk],
    )
    record(
        actor=users["rita"],
        program=program,
        title="Two-tower retrieval before a graph-based model",
        context="A graph model needs interaction data we will only have after launch.",
        decision="Ship a two-tower retrieval model with image embeddings for the release.",
        consequences="Retrieval depends on the attribute labels; revisit after launch.",
        status="accepted",
        decided_on=sprints[0].start_date + timedelta(days=3),
        ticket_keys=[tickets["ret2"].key, tickets["ret4"].key],
        sprint_ids=[sprints[0].pk, sprints[1].pk],
    )
    record(
        actor=users["paula"],
        program=program,
        title="Personalization behind a flag if ML milestone 3 slips",
        context="The long-tail labels may arrive late, and personalization needs ranker v1.",
        decision="Release with personalization switched off unless it passes QA by I6.",
        consequences="The release date holds; personalization may follow in a patch.",
        status="proposed",
        decided_on=sprints[2].start_date,
        ticket_keys=[tickets["prs4"].key, tickets["qa5"].key],
        sprint_ids=[sprints[4].pk, sprints[5].pk],
    )


def _forecast(pi: PlanningInterval, today: date) -> None:
    """The PI forecast now, computed by the engine, and the weekly runs before it."""
    run = board_services.pi_forecast_refresh(pi=pi, today=today)
    if run is not None:
        _orm_past_forecasts(pi, run)


# --- facts no service writes (demo only) ------------------------------------------------------


def _at(day: date, hour: int = 16) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _orm_date_events(ticket: Ticket, before: set[int], day: date) -> None:
    """Date the history rows a replayed change just wrote on the day it happened."""
    TicketEvent.objects.filter(ticket=ticket).exclude(id__in=before).update(at=_at(day))


def _orm_date_creation(ticket: Ticket, day: date) -> None:
    """A bug was found (created) on `day`: its creation and its "created" event."""
    Ticket.objects.filter(pk=ticket.pk).update(created_at=_at(day, 10))
    TicketEvent.objects.filter(ticket=ticket, field="created").update(at=_at(day, 10))


def _orm_date_evidence(evidence: Evidence, day: date) -> None:
    Evidence.objects.filter(pk=evidence.pk).update(recorded_at=_at(day, 18))


def _orm_close_iterations(actor, sprints, today: date) -> None:
    """I1 and I2 are over, I3 runs, the rest are being planned (states through the sprint
    service; commit/close services need capacity and carry-over the demo does not model)."""
    for sprint in sprints:
        if sprint.end_date < today:
            state = Sprint.State.CLOSED
        elif sprint.start_date <= today:
            state = Sprint.State.ACTIVE
        else:
            continue
        sprint_update(actor=actor, sprint=sprint, changes={"state": state})


def _orm_set_pi_states(previous: PlanningInterval, current: PlanningInterval) -> None:
    """No service changes a PI's state yet (board area): the pilot is closed, PI 1 active."""
    PlanningInterval.objects.filter(pk=previous.pk).update(state=PlanningInterval.State.CLOSED)
    PlanningInterval.objects.filter(pk=current.pk).update(state=PlanningInterval.State.ACTIVE)
    current.state = PlanningInterval.State.ACTIVE


def _orm_past_forecasts(pi: PlanningInterval, latest: ProgramForecastRun) -> None:
    """Weekly forecasts of the past four weeks, for the P(milestone met) trend: each one a
    copy of the engine's run with the milestones' P(met) as they stood (higher, before the
    long-tail batch slipped). Stored history, not recomputed."""
    for weeks_ago, lift in ((4, 0.18), (3, 0.14), (2, 0.09), (1, 0.04)):
        result = dict(latest.result)
        result["milestones"] = {
            key: {**entry, "p_met": round(min(0.99, float(entry.get("p_met") or 0) + lift), 3)}
            for key, entry in (latest.result.get("milestones") or {}).items()
        }
        ProgramForecastRun.objects.create(
            pi=pi,
            inputs_version=f"demo-history-{weeks_ago}-weeks-ago",  # not a real inputs hash
            seed=latest.seed,
            trials=latest.trials,
            computed_at=latest.computed_at - timedelta(weeks=weeks_ago),
            duration_ms=latest.duration_ms,
            result=result,
        )
    # The engine's run stays the newest row (the recompute compares against it).
    ProgramForecastRun.objects.filter(pk=latest.pk).delete()
    latest.pk = None
    latest.save()
