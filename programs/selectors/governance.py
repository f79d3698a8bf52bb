"""Reads of the governance area, shaped for its pages and API. Each reads a fixed number of
queries whatever the number of rows (asserted in tests/programs/governance)."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Prefetch, Q

from accounts.models import User
from planning.models import Risk
from sprints.models import Sprint

from .. import predictability as pred
from ..models import (
    Decision,
    Feature,
    Objective,
    PlanningInterval,
    Program,
    ProgramRisk,
    RaciActivity,
    RaciAssignment,
)
from ..raci import Column

# --- objectives and predictability -----------------------------------------------------------


def program_teams(program: Program) -> list:
    return list(program.teams.order_by("name"))


@dataclass
class TeamObjectives:
    team: object
    objectives: list = field(default_factory=list)
    figure: pred.Predictability | None = None


def pi_objectives(pi: PlanningInterval) -> list[TeamObjectives]:
    """Per team of the program (by name): its objectives (committed first) with features,
    and its predictability figure. Three queries."""
    groups = {team.pk: TeamObjectives(team) for team in program_teams(pi.program)}
    objectives = Objective.objects.filter(pi=pi).prefetch_related(
        Prefetch("features", queryset=Feature.objects.order_by("rank", "id"))
    )
    for objective in objectives:
        if objective.team_id in groups:
            groups[objective.team_id].objectives.append(objective)
    for group in groups.values():
        group.figure = pred.predictability(
            _value(o, group.team.key_prefix) for o in group.objectives
        )
    return list(groups.values())


def _value(objective: Objective, team: str) -> pred.ObjectiveValue:
    return pred.ObjectiveValue(
        team=team,
        committed=objective.committed,
        planned=objective.planned_value,
        actual=objective.actual_value,
    )


@dataclass(frozen=True)
class PiPredictability:
    pi: PlanningInterval
    teams: list[tuple[object, pred.Predictability]]  # (team, figure) by team name
    program: pred.Predictability
    history: list[pred.HistoryPoint]  # every PI of the program, oldest first
    trend: pred.Trend


def pi_predictability(pi: PlanningInterval) -> PiPredictability:
    """Per team and program figure of this PI, and the program's history across its PIs
    (up to this one). Three queries: teams, PIs, all objective values of those PIs."""
    teams = program_teams(pi.program)
    key_of = {team.pk: team.key_prefix for team in teams}
    pis = list(
        PlanningInterval.objects.filter(
            program_id=pi.program_id, start_date__lte=pi.start_date
        ).order_by("start_date", "id")
    )
    rows = Objective.objects.filter(pi__in=pis).values_list(
        "pi_id", "team_id", "committed", "planned_value", "actual_value"
    )
    by_pi: dict[int, list[pred.ObjectiveValue]] = {p.pk: [] for p in pis}
    for pi_id, team_id, committed, planned, actual in rows:
        by_pi[pi_id].append(
            pred.ObjectiveValue(
                team=key_of.get(team_id, str(team_id)),
                committed=committed,
                planned=planned,
                actual=actual,
            )
        )
    current = [v for v in by_pi.get(pi.pk, []) if v.team in key_of.values()]
    report = pred.report(current, [team.key_prefix for team in teams])
    history = pred.history([(p.name, by_pi[p.pk]) for p in pis])
    return PiPredictability(
        pi=pi,
        teams=[(team, report.teams[team.key_prefix]) for team in teams],
        program=report.program,
        history=history,
        trend=pred.trend(history),
    )


def pi_features(pi: PlanningInterval) -> list[Feature]:
    return list(Feature.objects.filter(pi=pi).select_related("team").order_by("rank", "id"))


# --- program risks ---------------------------------------------------------------------------


def pi_risks(pi: PlanningInterval) -> list[ProgramRisk]:
    """The PI's program risks (highest exposure first) with everything the page shows."""
    return list(
        ProgramRisk.objects.filter(pi=pi)
        .select_related("owner", "team", "adjustment__sprint", "source_risk__sprint")
        .prefetch_related("tickets")
    )


def pi_premortem_risks(pi: PlanningInterval) -> list[Risk]:
    """Pre-mortem risks raised in the PI's sprints, labelled with their sprint; `taken` is
    the program risk made from it, if any."""
    risks = list(
        Risk.objects.filter(sprint__iteration__pi=pi)
        .select_related("sprint", "owner", "program_risk")
        .prefetch_related("mitigating_tickets")
        .order_by("sprint__start_date", "-impact", "-likelihood", "id")
    )
    for risk in risks:
        risk.taken = getattr(risk, "program_risk", None)
    return risks


def risks_due_for_review(pi: PlanningInterval, today: date) -> list[ProgramRisk]:
    """Program risks whose follow-up date is within 7 days of `today` (overdue ones
    included) and that are not resolved: soonest first. One query."""
    return list(
        ProgramRisk.objects.filter(pi=pi, follow_up__lte=today + timedelta(days=7))
        .exclude(state=ProgramRisk.State.RESOLVED)
        .select_related("owner", "team")
        .order_by("follow_up", "id")
    )


def pi_sprints(pi: PlanningInterval) -> list[Sprint]:
    return list(Sprint.objects.filter(iteration__pi=pi).order_by("iteration__number"))


def people() -> list[User]:
    return list(
        User.objects.exclude(product_role=User.ProductRole.INTEGRATION)
        .filter(is_active=True)
        .order_by("username")
    )


# --- RACI ------------------------------------------------------------------------------------

ROLE_COLUMNS = [("scrum_master", "Scrum master"), ("product_owner", "Product Owner")]


def raci_columns(program: Program, teams=None) -> list[Column]:
    """The matrix's columns: the program's teams (by name, keyed by key prefix), then the
    Scrum master and Product Owner roles."""
    teams = program_teams(program) if teams is None else teams
    return [Column(team.key_prefix, team.name) for team in teams] + [
        Column(role, label) for role, label in ROLE_COLUMNS
    ]


@dataclass
class RaciRow:
    activity: RaciActivity
    cells: list[tuple[Column, str]]  # (column, letter or "") in column order

    @property
    def accountable(self) -> str | None:
        return next((c.label for c, letter in self.cells if letter == "A"), None)


def raci_matrix(program: Program) -> tuple[list[Column], list[RaciRow]]:
    """Columns and one row per activity. Three queries."""
    teams = program_teams(program)
    columns = raci_columns(program, teams)
    activities = RaciActivity.objects.filter(program=program).prefetch_related(
        Prefetch("assignments", queryset=RaciAssignment.objects.select_related("team"))
    )
    return columns, [raci_row(activity, columns) for activity in activities]


def raci_row(activity: RaciActivity, columns: list[Column]) -> RaciRow:
    letters = {
        (a.team.key_prefix if a.team_id else a.role): a.letter for a in activity.assignments.all()
    }
    return RaciRow(activity, [(column, letters.get(column.key, "")) for column in columns])


def raci_activity_row(activity: RaciActivity) -> tuple[list[Column], RaciRow]:
    columns = raci_columns(activity.program)
    fresh = RaciActivity.objects.prefetch_related(
        Prefetch("assignments", queryset=RaciAssignment.objects.select_related("team"))
    ).get(pk=activity.pk)
    return columns, raci_row(fresh, columns)


# --- decisions -------------------------------------------------------------------------------


def _decisions():
    return Decision.objects.select_related("program", "superseded_by", "created_by")


def program_decisions(program: Program, status: str = "") -> list[Decision]:
    """The program's log, newest number first, with tickets and sprints. Three queries."""
    decisions = _decisions().filter(program=program)
    if status:
        decisions = decisions.filter(status=status)
    return list(
        decisions.prefetch_related(
            "tickets", Prefetch("sprints", queryset=Sprint.objects.order_by("start_date"))
        ).order_by("-number")
    )


def decisions_for_program(program: Program, limit: int = 5) -> list[Decision]:
    """The latest `limit` records, for a small panel (programs/governance/_decisions_panel.html).
    One query."""
    return list(_decisions().filter(program=program).order_by("-number")[:limit])


def decisions_for_sprint(sprint: Sprint) -> list[Decision]:
    """Records linked to the sprint (any program), newest first. One query."""
    return list(_decisions().filter(sprints=sprint).order_by("-decided_on", "-number"))


def decision_by_number(program: Program, number: int) -> Decision | None:
    return _decisions().filter(program=program, number=number).first()


def decision_sprint_choices(program: Program) -> list[Sprint]:
    """Sprints offered for linking: those of the program's PIs, then other open sprints."""
    return list(
        Sprint.objects.filter(Q(iteration__pi__program=program) | ~Q(state=Sprint.State.CLOSED))
        .distinct()
        .order_by("start_date", "id")
    )
