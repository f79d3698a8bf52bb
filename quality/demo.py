"""Scenario 1's Definition of Done and a few days of evidence, for the demo data.

Called by planning/demo.py with its `users` (username → User), `teams` (key prefix → Team)
and `tickets` (title → Ticket). Idempotent: does nothing once a Definition of Done exists.
Everything goes through the services, as a user's actions would.
"""

from django.db import transaction

from tickets.models import Ticket

from . import services
from .models import Criterion, DefinitionOfDone

LABELING_TICKET = "Label 1000 images for Class X"
TRAINING_TICKET = "Train v1.1 model"


def scenario_one_criteria(teams) -> list[dict]:
    """98% inter-annotator agreement, accuracy > 90% on the test set, QA acceptance passed,
    code and data committed."""
    return [
        {
            "code": "iaa",
            "text": "Inter-annotator agreement ≥ 0.98",
            "kind": Criterion.Kind.METRIC,
            "team": teams["LAB"],
            "metric_key": "iaa",
            "comparator": ">=",
            "threshold": "0.98",
            "ticket_types": [Ticket.Type.LABELING_BATCH],
            # Training may not start on a batch whose labels disagree.
            "entry_gate": True,
        },
        {
            "code": "test-accuracy",
            "text": "Test accuracy > 0.90 on the Class X test set",
            "kind": Criterion.Kind.METRIC,
            "team": teams["ML"],
            "metric_key": "test_accuracy",
            "comparator": ">",
            "threshold": "0.90",
            "ticket_types": [Ticket.Type.TRAINING_RUN],
        },
        {
            "code": "qa-acceptance",
            "text": "QA acceptance suite passed",
            "kind": Criterion.Kind.TEST_SUITE,
            "team": teams["QA"],
            "ticket_types": [Ticket.Type.VALIDATION],
        },
        {
            "code": "committed",
            "text": "Code and data committed",
            "kind": Criterion.Kind.MANUAL,
            "team": teams["ML"],
            "ticket_types": [Ticket.Type.TRAINING_RUN],
            # Also met on its own once the run's commit and dataset version are recorded.
            "required_artifacts": ["code_commit", "dataset_version"],
        },
    ]


@transaction.atomic
def load_quality_demo(users, teams, tickets) -> DefinitionOfDone | None:
    if DefinitionOfDone.objects.exists():
        return None
    definition = services.definition_revise(
        actor=users["sam"],
        criteria=scenario_one_criteria(teams),
        note="Agreed in sprint 14 planning by labeling, ML and QA.",
    )
    services.definition_accept(actor=users["paula"], definition=definition)
    iaa = definition.criteria.get(code="iaa")
    labeling = tickets[LABELING_TICKET]
    # Two review rounds so far: agreement rising but still below the bar.
    for value in ("0.962", "0.975"):
        services.evidence_record(
            actor=users["lena"],
            criterion=iaa,
            ticket=labeling,
            value=value,
            details={"tasks_compared": 120},
        )
    services.artifact_record(
        actor=users["maya"],
        ticket=tickets[TRAINING_TICKET],
        kind="code_commit",
        direction="consumed",
        name="classifier-training",
        revision="3f9c2a1e8b7d4c6f0a1b2c3d4e5f60718293a4b5",
    )
    return definition
