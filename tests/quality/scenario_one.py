"""Seed scenario 1 for quality tests: the chain labeling → training → validation in one
sprint, and the four-criterion Definition of Done (via the demo loader's criteria)."""

from dataclasses import dataclass

from dependencies.services import link_create
from quality.demo import scenario_one_criteria
from quality.models import DefinitionOfDone
from quality.services import definition_revise
from tickets.models import Ticket

from ..factories import TicketFactory


@dataclass
class ScenarioOne:
    labeling: Ticket
    training: Ticket
    validation: Ticket
    definition: DefinitionOfDone

    def criterion(self, code: str):
        return self.definition.criteria.get(code=code)


def build(scenario) -> ScenarioOne:
    sprint = scenario.sprint
    labeling = TicketFactory(
        team=scenario.lab, type="labeling_batch", size=1000, status="in_progress", sprint=sprint
    )
    training = TicketFactory(team=scenario.ml, type="training_run", status="todo", sprint=sprint)
    validation = TicketFactory(team=scenario.qa, type="validation", status="todo", sprint=sprint)
    sm = scenario.users["sm"]
    link_create(actor=sm, blocker=labeling, blocked=training)
    link_create(actor=sm, blocker=training, blocked=validation)
    teams = {"LAB": scenario.lab, "ML": scenario.ml, "QA": scenario.qa}
    definition = definition_revise(actor=sm, criteria=scenario_one_criteria(teams))
    return ScenarioOne(labeling, training, validation, definition)
