"""Seed scenario 1 end to end with Prodigy, DVC and W&B instead of Label Studio and MLflow:
the labeling batch's export moves its progress and sets its agreement, the training
pipeline's dvc.lock records the dataset revision handed over across LAB → ML, and a W&B
artifact plus its run's summary (a loopback stand-in) passes ML's accuracy criterion. The
sprint's DoD matrix then shows all three, with their sources."""

import json
from decimal import Decimal

from integrations.models import Delivery
from integrations.services import prodigy_dataset_link
from quality.models import Artifact
from quality.selectors import sprint_dod_matrix
from tickets.models import Ticket

from .conftest import make_integration
from .ml_fixtures import SMALL_LOCK
from .test_ml_parsers import rendered

COMMIT = "9f2c1e0d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e"


def prodigy_export(examples: int, annotators=("lena", "omar")) -> bytes:
    """Every example labelled by both annotators, the same way."""
    lines = [
        {
            "image": f"img-{n}.jpg",
            "_input_hash": 1000 + n,
            "_task_hash": 5000 + n,
            "options": [{"id": "classx"}, {"id": "other"}],
            "accept": ["classx" if n % 3 else "other"],
            "answer": "accept",
            "_view_id": "choice",
            "_annotator_id": f"classx-{who}",
            "_session_id": f"classx-{who}",
        }
        for n in range(examples)
        for who in annotators
    ]
    return "\n".join(json.dumps(line) for line in lines).encode()


def test_scenario_one_with_prodigy_dvc_and_wandb(scenario, one, hooks, upload, wandb_server, api):
    lab, ml = scenario.lab, scenario.ml
    labeling, training = one.labeling, one.training

    # 1. Prodigy (labeling team's cron): 430 of 1000 images, both annotators agree.
    prodigy = make_integration(scenario, "prodigy", lab)
    prodigy_dataset_link(
        actor=scenario.users["lab_lead"],
        integration=prodigy.integration,
        dataset="classx",
        ticket=labeling,
    )
    response = hooks(
        f"/hooks/prodigy/{prodigy.integration.pk}/?dataset=classx",
        prodigy_export(430),
        "application/jsonl",
        **{"X-Sprintplan-Token": prodigy.secret},
    )
    assert response.status_code == 202, response.json()
    assert Ticket.objects.get(pk=labeling.pk).progress == Decimal("430")

    # 2. DVC (ML team's CI): the pipeline read LAB's images and wrote the model.
    dvc = make_integration(scenario, "dvc", ml)
    response = upload(
        f"/hooks/dvc/{dvc.integration.pk}/?ticket={training.key}",
        {"dvc.lock": SMALL_LOCK},
        {"commit": COMMIT, "repo": "https://git.example.com/ml/classx"},
        **{"X-Sprintplan-Token": dvc.secret},
    )
    assert response.status_code == 202, response.json()
    handed = Artifact.objects.get(ticket=training, handed_over_by=labeling)
    assert (handed.kind, handed.direction, handed.name, handed.checksum, handed.revision) == (
        "dataset_version",
        "consumed",
        "data/labeled",
        "0a1b2c3d4e5f60718293a4b5c6d7e8f9.dir",
        COMMIT,
    )
    listed = api("ml_lead").get(f"/api/v1/artifacts/?ticket__key={training.key}").json()
    consumed = [a for a in listed["results"] if a["direction"] == "consumed"]
    assert [(a["name"], a["handed_over_by"]) for a in consumed] == [("data/labeled", labeling.key)]
    model = Artifact.objects.get(ticket=training, kind="model_version")
    assert [d["path"] for d in model.details["trained_on"]] == ["data/train"]
    assert model.run_id == COMMIT

    # 3. W&B (ML team): the model artifact's alias, and the run's summary from the stand-in.
    wandb_server.runs["acme/classx/r1x2y3"] = {"test_accuracy": 0.931, "test/loss": 0.2}
    wb = make_integration(scenario, "wandb", ml, api_url=wandb_server.url)
    response = hooks(
        f"/hooks/wandb/{wb.integration.pk}/",
        json.dumps(rendered(**{"${artifact_metadata.sprintplan_ticket}": training.key})).encode(),
        Authorization=f"Bearer {wb.secret}",
    )
    assert response.status_code == 202, response.json()
    assert set(Delivery.objects.values_list("status", flat=True)) == {"processed"}

    # 4. The DoD matrix: agreement from Prodigy, data committed from DVC, accuracy from W&B.
    matrix = sprint_dod_matrix(scenario.sprint)
    cells = {
        (key, column): (cell.status, cell.source)
        for (key, column), cell in matrix.cells.items()
        if cell.verdict
    }
    assert cells[("dod:iaa", labeling.key)] == ("passed", "prodigy")
    assert cells[("dod:committed", training.key)] == ("passed", "dvc")
    assert cells[("dod:test-accuracy", training.key)] == ("passed", "wandb")
