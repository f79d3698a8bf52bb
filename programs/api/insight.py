"""Program API: insight area. Read-only, open to every signed-in user:

GET /api/v1/pis/{id}/scrum-of-scrums/  cross-team blockers, root blockers, risks due for
                                       review, objectives at risk, milestone outlook
GET /api/v1/pis/{id}/indicators/       the four leading indicators with their series
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.response import Response

from sprintplan import probability

from ..models import PlanningInterval
from ..selectors import insight as selectors

PI_PREFIX = r"pis/(?P<pi_pk>[0-9]+)"


def _ticket(ref: selectors.TicketRef) -> dict:
    return {
        "key": ref.key,
        "title": ref.title,
        "team": ref.team_prefix,
        "status": ref.status,
        "sprint": ref.sprint_name,
        "iteration": ref.iteration,
    }


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def scrum_of_scrums_data(sos: selectors.ScrumOfScrums) -> dict:
    return {
        "pi": {"id": sos.pi.id, "name": sos.pi.name},
        "today": sos.today.isoformat(),
        "forecast_computed_at": sos.forecast_at.isoformat() if sos.forecast_at else None,
        "cross_team_blockers": [
            {
                "health": b.health,
                "blocker": _ticket(b.blocker),
                "blocked": _ticket(b.blocked),
                "reason": b.reason,
            }
            for b in sos.blockers
        ],
        "root_blockers": [
            {
                **_ticket(root.ticket),
                "downstream_count": root.downstream_count,
                "waiting": list(root.waiting),
                "waiting_teams": list(root.waiting_teams),
            }
            for root in sos.roots
        ],
        "risks_due_for_review": {
            "within_days": sos.review_days,
            "risks": [
                {
                    "id": due.risk.id,
                    "title": due.risk.title,
                    "state": due.risk.state,
                    "owner": due.risk.owner.username if due.risk.owner else None,
                    "follow_up": due.risk.follow_up.isoformat(),
                    "days_left": due.days_left,
                    "exposure": due.risk.exposure,
                }
                for due in sos.risks_due
            ],
        },
        "objectives_at_risk": {
            "rule": sos.at_risk_rule,
            "committed_objectives": sos.committed_objectives,
            "objectives": [
                {
                    "id": item.objective.id,
                    "title": item.objective.title,
                    "team": item.objective.team.key_prefix,
                    "planned_value": item.objective.planned_value,
                    "reasons": list(item.reasons),
                }
                for item in sos.objectives_at_risk
            ],
        },
        "milestones": [
            {
                "id": outlook.milestone.id,
                "name": outlook.milestone.name,
                "date": outlook.milestone.date.isoformat(),
                "kind": outlook.milestone.kind,
                "hard": outlook.milestone.hard,
                "p_met": _percent(outlook.p_met),
                "p_met_outlook": probability.outlook(outlook.p_met),
                "bottleneck_team": outlook.bottleneck_team,
            }
            for outlook in sos.milestones
        ],
    }


def indicators_data(ind: selectors.Indicators) -> dict:
    escape = ind.escape
    return {
        "pi": {"id": ind.pi.id, "name": ind.pi.name},
        "today": ind.today.isoformat(),
        "labeling_throughput": {
            "days": [day.isoformat() for day in ind.throughput.days],
            "teams": [
                {
                    "team": row.team.key_prefix,
                    "unit": row.team.unit_label or row.team.unit,
                    "per_day": list(row.throughput.units),
                    "mean": _percent(row.throughput.mean),
                    "recent_mean": _percent(row.throughput.recent_mean),
                    "zero_days": row.throughput.zero_days,
                }
                for row in ind.throughput.rows
            ],
        },
        "metric_convergence": {
            "runs_compared": ind.convergence_runs,
            "spread_threshold": ind.convergence_spread,
            "series": [
                {
                    "ticket": trend.ticket_key,
                    "metric": trend.metric_key,
                    "criterion": trend.criterion_text,
                    "threshold": trend.threshold_text,
                    "runs": [
                        {
                            "run": run.label,
                            "recorded_at": run.recorded_at.isoformat(),
                            "value": run.value,
                        }
                        for run in trend.runs
                    ],
                    "spread": trend.convergence.spread,
                    "converged": trend.convergence.converged,
                }
                for trend in ind.metrics
            ],
        },
        "defect_escape": {
            "escaped": escape.overall.escaped,
            "bugs": escape.overall.total,
            "rate": _percent(escape.overall.rate),
            "by_iteration": [
                {
                    "iteration": point.label,
                    "as_of": point.at.isoformat(),
                    "escaped": point.escape.escaped,
                    "bugs": point.escape.total,
                    "rate": _percent(point.escape.rate),
                }
                for point in escape.points
            ],
            "escaped_bugs": [bug.key for bug in escape.escaped],
        },
        "milestone_forecast": {
            "milestones": [
                {"id": m.id, "name": m.name, "date": m.date.isoformat()}
                for m in ind.milestones.milestones
            ],
            "runs": [
                {
                    "computed_at": point.computed_at.isoformat(),
                    "p_met": {
                        str(m.id): _percent(value)
                        for m, value in zip(ind.milestones.milestones, point.values, strict=True)
                    },
                }
                for point in ind.milestones.points
            ],
        },
    }


class _PiScoped:
    def pi(self) -> PlanningInterval:
        return get_object_or_404(
            PlanningInterval.objects.select_related("program"), pk=self.kwargs["pi_pk"]
        )


class ScrumOfScrumsViewSet(_PiScoped, viewsets.ViewSet):
    """The Scrum of Scrums view of a PI: red/orange links between teams, root blockers by
    downstream count, risks due for review within 7 days, committed objectives at risk (the
    rule is in the answer), milestones with their latest P(met)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def list(self, request, pi_pk=None):
        return Response(scrum_of_scrums_data(selectors.scrum_of_scrums(self.pi())))


class IndicatorsViewSet(_PiScoped, viewsets.ViewSet):
    """Leading indicators of a PI: labeling throughput per day, model metric convergence
    across MLflow runs, defect escape rate, P(milestone met) over the stored forecasts."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def list(self, request, pi_pk=None):
        return Response(indicators_data(selectors.leading_indicators(self.pi())))


def register(router) -> None:
    router.register(f"{PI_PREFIX}/scrum-of-scrums", ScrumOfScrumsViewSet, basename="pi-sos")
    router.register(f"{PI_PREFIX}/indicators", IndicatorsViewSet, basename="pi-indicators")
