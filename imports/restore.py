"""Bring back what a Sprintplan JSON export carries beyond tickets, links and history: the
sprints' goals, the teams' capacity (focus factor, people's days off and part-time shares),
capacity changes by dates, team holidays and the Definition of Done.

Every write goes through the owning app's service, as if the person importing typed it, so
the same rules and permissions hold. Each step can be repeated without doubling anything (a
resumed import runs it again). An item the target cannot take (a person who is not in the
team, a refusal by a service) is skipped and counted; the rest still comes in.

Evidence is exported but not brought back: evidence is append-only and dated when it is
recorded, and a restored copy would claim checks were made on the day of the import."""

from typing import Any

from accounts.models import User
from planning import options_services
from planning import services as planning
from planning.models import CapacityAdjustment, SprintGoal
from quality import services as quality
from quality.selectors import definition_in_force
from sprintplan.errors import DomainError
from sprints.models import Sprint
from teams.models import Membership, Team


def extras_apply(
    *,
    actor: User,
    extras: dict[str, Any],
    sprint_ids: dict[int, int],
    ticket_keys: dict[str, str],
) -> dict[str, int]:
    """`sprint_ids`: exported sprint id -> sprint here; `ticket_keys`: exported key -> key
    here. Returns counts for the import's report."""
    target = _Target(actor, sprint_ids, ticket_keys)
    return {
        "goals_added": sum(target.goal(item) for item in extras.get("goals", [])),
        "capacity_set": sum(target.capacity(item) for item in extras.get("capacity", [])),
        "capacity_changes_added": sum(
            target.adjustment(item) for item in extras.get("capacity_changes", [])
        ),
        "holidays_set": sum(target.holiday(item) for item in extras.get("holidays", [])),
        "definition_of_done_restored": target.definition(extras.get("definition_of_done")),
        "evidence_not_restored": len(extras.get("evidence", [])),
        "items_skipped": target.skipped,
    }


class _Target:
    def __init__(self, actor, sprint_ids, ticket_keys):
        self.actor = actor
        self.sprints = Sprint.objects.in_bulk(set(sprint_ids.values()))
        self.sprint_of = {exported: self.sprints[pk] for exported, pk in sprint_ids.items()}
        self.ticket_keys = ticket_keys
        self.teams = {team.key_prefix: team for team in Team.objects.all()}
        self.skipped = 0

    def _done(self, write) -> int:
        """1 when the service took it, 0 (and counted as skipped) when it refused."""
        try:
            write()
        except DomainError:
            self.skipped += 1
            return 0
        return 1

    def goal(self, item: dict) -> int:
        sprint = self.sprint_of.get(item.get("sprint"))
        if sprint is None or SprintGoal.objects.filter(sprint=sprint, text=item["text"]).exists():
            return 0
        keys = [self.ticket_keys[k] for k in item.get("tickets", []) if k in self.ticket_keys]

        def write():
            goal = planning.goal_create(
                actor=self.actor, sprint=sprint, text=item["text"], ticket_keys=keys
            )
            if item.get("deadline"):
                planning.goal_update(
                    actor=self.actor, goal=goal, changes={"deadline": item["deadline"]}
                )

        return self._done(write)

    def capacity(self, item: dict) -> int:
        sprint = self.sprint_of.get(item.get("sprint"))
        team = self.teams.get(item.get("team"))
        if sprint is None or team is None:
            return 0
        members = set(Membership.objects.filter(team=team).values_list("user__username", flat=True))
        rows = [row for row in item.get("members", []) if row.get("user") in members]
        self.skipped += len(item.get("members", [])) - len(rows)  # not in the team here
        return self._done(
            lambda: planning.capacity_update(
                actor=self.actor,
                sprint=sprint,
                team=team,
                focus_factor=item.get("focus_factor"),
                availability=rows,
            )
        )

    def adjustment(self, item: dict) -> int:
        team = self.teams.get(item.get("team"))
        if team is None:
            return 0
        sprint = self.sprint_of.get(item.get("sprint"))
        if CapacityAdjustment.objects.filter(
            team=team,
            from_date=item["from"],
            to_date=item["to"],
            factor=item["factor"],
            reason=item["reason"],
        ).exists():
            return 0
        return self._done(
            lambda: planning.adjustment_create(
                actor=self.actor,
                team=team,
                from_date=item["from"],
                to_date=item["to"],
                factor=item["factor"],
                reason=item["reason"],
                sprint=sprint,
            )
        )

    def holiday(self, item: dict) -> int:
        team = self.teams.get(item.get("team"))
        if team is None:
            return 0
        return self._done(
            lambda: options_services.holiday_set(
                actor=self.actor, team=team, day=item["date"], name=item["name"]
            )
        )

    def definition(self, exported: dict | None) -> int:
        """The exported Definition of Done becomes the first version here; a site that has
        one already keeps its own (a revision is a team decision, not an import's)."""
        if not exported or definition_in_force() is not None:
            return 0
        criteria = [
            {**criterion, "team": self.teams[criterion["team"]]}
            for criterion in exported.get("criteria", [])
            if criterion.get("team") in self.teams
        ]
        self.skipped += len(exported.get("criteria", [])) - len(criteria)
        if not criteria:
            return 0
        return self._done(
            lambda: quality.definition_revise(
                actor=self.actor,
                criteria=criteria,
                note=f"Brought in from a Sprintplan export (version {exported.get('version')}).",
            )
        )
