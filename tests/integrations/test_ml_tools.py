"""W&B, DVC and Prodigy through the delivery pipeline: every real fixture accepted through its
route with the artifacts, evidence and agreement computed here from the file; re-sending
changes nothing; bad input refused with nothing recorded; the integration feeds only its
own team's tickets."""

import json
import math
from decimal import Decimal

import pytest
import yaml

from integrations import wandb
from integrations.models import Delivery
from integrations.services import prodigy_dataset_link
from quality.models import Artifact, Evidence
from quality.services import acceptance_criterion_add
from tickets.models import Ticket

from .conftest import make_integration
from .ml_fixtures import (
    DVC_FILES,
    DVC_LOCKS,
    METRICS,
    PRODIGY,
    SMALL_PRODIGY,
    WANDB_SUMMARIES,
    jsonl,
    shared,
)
from .test_ml_parsers import independent_percent_agreement, rendered


def snapshot():
    """Everything a delivery may write, to prove a re-send or a refusal wrote nothing."""
    return (
        list(Evidence.objects.order_by("id").values_list("id", flat=True)),
        list(Artifact.objects.order_by("id").values_list("id", flat=True)),
        list(Ticket.objects.order_by("id").values_list("progress", "version")),
    )


# --- DVC ------------------------------------------------------------------------------------


@pytest.fixture
def dvc_hook(scenario, one):
    created = make_integration(scenario, "dvc", scenario.ml)
    url = f"/hooks/dvc/{created.integration.pk}/"
    return type(
        "DVC", (), {"url": url, "secret": created.secret, "integration": created.integration}
    )


def post_dvc(upload, hook, files, ticket, **fields):
    return upload(
        f"{hook.url}?ticket={ticket}", files, fields, **{"X-Sprintplan-Token": hook.secret}
    )


@pytest.mark.parametrize("name", DVC_LOCKS)
def test_every_lock_is_accepted_and_output_directories_become_dataset_revisions(
    upload, dvc_hook, one, name
):
    text = shared("dvc", name)
    commit = "06ea48980a34ef57041c9b905cafcb40d9c3ddbc"
    response = post_dvc(
        upload, dvc_hook, {"dvc.lock": text}, one.training.key, commit=commit, repo="https://x/r"
    )
    assert response.status_code == 202, response.json()
    delivery = Delivery.objects.get()
    assert delivery.status == "processed", delivery.error
    stages = yaml.safe_load(text)["stages"]
    dirs = {
        out["path"]: out["md5"]
        for body in stages.values()
        for out in body.get("outs", [])
        if out["md5"].endswith(".dir")
    }
    produced = Artifact.objects.filter(
        ticket=one.training, kind="dataset_version", direction="produced"
    )
    assert {a.name: a.checksum for a in produced} == dirs
    assert {a.revision for a in produced} == {commit}
    assert all(a.uri == f"https://x/r@{commit}:{a.name}" for a in produced)
    commits = Artifact.objects.filter(ticket=one.training, kind="code_commit")
    assert [(c.name, c.revision) for c in commits] == [("https://x/r", commit)]
    before = snapshot()
    again = post_dvc(
        upload, dvc_hook, {"dvc.lock": text}, one.training.key, commit=commit, repo="https://x/r"
    )
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    assert snapshot() == before and Delivery.objects.count() == 1


def test_lock_as_raw_body_with_commit_in_the_query(hooks, dvc_hook, one):
    text = shared("dvc", "DEEPCNNCLASSIFIER.dvc2-legacy.dvc.lock")
    url = f"{dvc_hook.url}?ticket={one.training.key}&commit=50138da"
    response = hooks(url, text, "application/yaml", **{"X-Sprintplan-Token": dvc_hook.secret})
    assert response.status_code == 202, response.json()
    model = Artifact.objects.get(kind="model_version")
    assert (model.name, model.version, model.run_id) == (
        "artifacts/training/model.h5",
        "b7392e0c7d318a246a1791c3a8cddd19",
        "50138da",
    )
    assert model.details["trained_on"][0]["path"] == "artifacts/data_ingestion/PetImages"
    assert model.details["trained_on"][0]["nfiles"] == 24998


@pytest.mark.parametrize(("name", "location"), DVC_FILES.items())
def test_dvc_files_are_dataset_revisions_at_their_repository_path(
    upload, dvc_hook, one, name, location
):
    lock = shared("dvc", "example-get-started.dvc.lock")
    text = shared("dvc", name)
    raw = yaml.safe_load(text)
    response = post_dvc(upload, dvc_hook, {"dvc.lock": lock, location: text}, one.training.key)
    assert response.status_code == 202, response.json()
    base = location.rsplit("/", 1)[0] + "/" if "/" in location else ""
    for out in raw["outs"]:
        artifact = Artifact.objects.get(ticket=one.training, name=base + out["path"])
        assert artifact.checksum == out["md5"]
        if "deps" in raw:  # an import: consumed, from its source repository's commit
            source = raw["deps"][0]["repo"]
            assert artifact.direction == "consumed"
            assert artifact.uri == f"{source['url']}@{source['rev_lock']}:{raw['deps'][0]['path']}"


@pytest.mark.parametrize("name", METRICS)
def test_metrics_become_evidence_for_criteria_with_the_exact_key(
    upload, dvc_hook, scenario, one, name
):
    raw = json.loads(shared("dvc", name))
    key, value = next(
        (f"{k}.{inner}", v) if isinstance(val, dict) else (k, val)
        for k, val in raw.items()
        for inner, v in (val.items() if isinstance(val, dict) else [(None, val)])
    )
    acceptance_criterion_add(
        actor=scenario.users["ml_lead"],
        ticket=one.training,
        code="dvc-metric",
        text=f"{key} at least 0.5",
        kind="metric",
        team=scenario.ml.pk,
        metric_key=key,
        comparator=">=",
        threshold="0.5",
    )
    lock = shared("dvc", "example-get-started.dvc.lock")
    show = json.dumps({"workspace": {"data": {"metrics.json": {"data": raw}}}}).encode()
    response = post_dvc(upload, dvc_hook, {"dvc.lock": lock, "metrics": show}, one.training.key)
    assert response.status_code == 202, response.json()
    evidence = Evidence.objects.get(criterion__code="dvc-metric")
    assert math.isclose(float(evidence.value), value, rel_tol=1e-9)
    assert (evidence.source, evidence.passed) == ("dvc", value >= 0.5)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"stages: [unclosed\n", "dvc.lock is not YAML"),
        (b"schema: '2.0'\n", "dvc.lock has no stages"),
    ],
)
def test_bad_lock_is_400_naming_the_problem_and_nothing_recorded(
    upload, dvc_hook, one, body, problem
):
    before = snapshot()
    response = post_dvc(upload, dvc_hook, {"dvc.lock": body}, one.training.key)
    assert response.status_code == 400
    assert problem in response.json()["detail"]
    assert snapshot() == before
    assert list(Delivery.objects.values_list("status", flat=True)) == ["rejected"]


def test_dvc_feeds_only_its_own_teams_tickets(upload, dvc_hook, one):
    lock = shared("dvc", "example-get-started.dvc.lock")
    before = snapshot()
    response = post_dvc(upload, dvc_hook, {"dvc.lock": lock}, one.labeling.key)
    assert response.status_code == 403
    assert snapshot() == before


def test_dvc_wrong_token_is_401(upload, dvc_hook, one):
    lock = shared("dvc", "example-get-started.dvc.lock")
    url = f"{dvc_hook.url}?ticket={one.training.key}"
    response = upload(url, {"dvc.lock": lock}, **{"X-Sprintplan-Token": "nope"})
    assert response.status_code == 401
    assert not Artifact.objects.exists()


# --- Prodigy --------------------------------------------------------------------------------


@pytest.fixture
def prodigy_hook(scenario, one, hooks):
    created = make_integration(scenario, "prodigy", scenario.lab)
    url = f"/hooks/prodigy/{created.integration.pk}/"

    def send(body, dataset, token=None):
        return hooks(
            f"{url}?dataset={dataset}",
            body,
            "application/jsonl",
            **{"X-Sprintplan-Token": token or created.secret},
        )

    def link(dataset, **kwargs):
        return prodigy_dataset_link(
            actor=scenario.users["lab_lead"],
            integration=created.integration,
            dataset=dataset,
            ticket=one.labeling,
            **kwargs,
        )

    return type("P", (), {"send": staticmethod(send), "link": staticmethod(link)})


DATASETS = ["presto_distortion", "docs_issues", "ner_tweets"]


@pytest.mark.parametrize(("name", "dataset"), list(zip(PRODIGY, DATASETS, strict=True)))
def test_every_export_moves_progress_and_resending_changes_nothing(
    prodigy_hook, one, name, dataset
):
    body = shared("prodigy", name)
    lines = jsonl(body)
    prodigy_hook.link(dataset)
    response = prodigy_hook.send(body, dataset)
    assert response.status_code == 202, response.json()
    assert Delivery.objects.get().status == "processed", Delivery.objects.get().error
    answered = len({line["_input_hash"] for line in lines if line["answer"] != "ignore"})
    # The labeling team counts in items: one answered example is one item of the batch.
    ticket = Ticket.objects.get(pk=one.labeling.pk)
    assert ticket.progress == Decimal(answered)
    before = snapshot()
    again = prodigy_hook.send(body, dataset)
    assert again.status_code == 200 and again.json()["duplicate"]
    assert snapshot() == before


def test_multi_annotator_export_sets_agreement_with_its_method(prodigy_hook, one):
    body = shared("prodigy", PRODIGY[0])
    value, compared, unanimous = independent_percent_agreement(jsonl(body))
    prodigy_hook.link("presto_distortion")
    assert prodigy_hook.send(body, "presto_distortion").status_code == 202
    evidence = Evidence.objects.get(ticket=one.labeling, criterion__code="iaa")
    assert math.isclose(float(evidence.value), round(value, 6))
    assert (evidence.source, evidence.passed) == ("prodigy", value >= 0.98)
    assert evidence.details["examples_compared"] == compared
    assert evidence.details["unanimous"] == unanimous
    assert "percent agreement" in evidence.details["method"]


def test_exports_without_annotators_record_no_agreement(prodigy_hook, one):
    prodigy_hook.link("docs_issues")
    prodigy_hook.send(shared("prodigy", PRODIGY[1]), "docs_issues")
    assert not Evidence.objects.filter(criterion__code="iaa").exists()
    assert "no agreement" in Delivery.objects.get().error


def test_batch_size_scales_progress_to_the_tickets_size(prodigy_hook, one):
    prodigy_hook.link("pets", batch_size=4)
    assert prodigy_hook.send(SMALL_PRODIGY, "pets").status_code == 202
    # 2 of 4 examples answered → half of the ticket's 1000 images.
    assert Ticket.objects.get(pk=one.labeling.pk).progress == Decimal("500")


@pytest.mark.parametrize(
    ("body", "line"),
    [
        (SMALL_PRODIGY + b"{oops\n", 6),
        (SMALL_PRODIGY.replace(b'"pets-bob"', b'"birds-bob"'), 2),
    ],
    ids=["not-json", "mixed-datasets"],
)
def test_bad_export_is_400_with_the_line_and_nothing_recorded(prodigy_hook, body, line):
    prodigy_hook.link("pets")
    before = snapshot()
    response = prodigy_hook.send(body, "pets")
    assert response.status_code == 400
    assert response.json()["line"] == line
    assert f"line {line}" in response.json()["detail"]
    assert snapshot() == before


def test_unlinked_dataset_is_400(prodigy_hook):
    response = prodigy_hook.send(SMALL_PRODIGY, "pets")
    assert (response.status_code, response.json()["code"]) == (400, "unknown_dataset")


def test_prodigy_wrong_token_is_401(prodigy_hook):
    prodigy_hook.link("pets")
    assert prodigy_hook.send(SMALL_PRODIGY, "pets", token="wrong").status_code == 401


def test_a_dataset_links_only_to_a_labeling_ticket_of_the_integrations_team(
    scenario, one, prodigy_hook
):
    with pytest.raises(Exception, match="may not link"):
        prodigy_dataset_link(
            actor=scenario.users["lab_lead"],
            integration=make_integration(scenario, "prodigy", scenario.ml).integration,
            dataset="x",
            ticket=one.training,
        )


# --- W&B ------------------------------------------------------------------------------------


@pytest.fixture
def wandb_hook(scenario, one, hooks, wandb_server):
    created = make_integration(
        scenario, "wandb", scenario.ml, api_url=wandb_server.url, api_key="k-123"
    )
    url = f"/hooks/wandb/{created.integration.pk}/"

    def send(payload, token=None):
        body = json.dumps(payload).encode()
        return hooks(url, body, Authorization=f"Bearer {token or created.secret}")

    def summary(body, ticket, run="", token=None):
        query = f"?ticket={ticket}" + (f"&run={run}" if run else "")
        return hooks(
            f"{url}summary/{query}", body, Authorization=f"Bearer {token or created.secret}"
        )

    return type(
        "W",
        (),
        {"send": staticmethod(send), "summary": staticmethod(summary), "url": url,
         "integration": created.integration},
    )  # fmt: skip


@pytest.mark.parametrize("name", WANDB_SUMMARIES)
def test_wandb_summary_upload_is_evidence_for_the_exact_key(wandb_hook, scenario, one, name):
    body = shared("wandb", name)
    raw = json.loads(body)
    acceptance_criterion_add(
        actor=scenario.users["ml_lead"],
        ticket=one.training,
        code="hf-test-accuracy",
        text="test/accuracy above 0.55",
        kind="metric",
        team=scenario.ml.pk,
        metric_key="test/accuracy",
        comparator=">",
        threshold="0.55",
    )
    response = wandb_hook.summary(body, one.training.key, run="acme/goodreads/abc123")
    assert response.status_code == 202, response.json()
    evidence = Evidence.objects.get(criterion__code="hf-test-accuracy")
    assert math.isclose(float(evidence.value), raw["test/accuracy"])
    assert (evidence.source, evidence.passed) == ("wandb", raw["test/accuracy"] > 0.55)
    # test_accuracy (the DoD's key) is not test/accuracy: no evidence for it.
    assert not Evidence.objects.filter(criterion__code="test-accuracy").exists()
    before = snapshot()
    assert (
        wandb_hook.summary(body, one.training.key, run="acme/goodreads/abc123").status_code == 200
    )
    assert snapshot() == before


def test_artifact_delivery_records_the_model_and_reads_the_run_summary(
    wandb_hook, wandb_server, one
):
    wandb_server.runs["acme/classx/r1x2y3"] = {"test_accuracy": 0.931, "_step": 9, "_runtime": 3}
    response = wandb_hook.send(rendered())
    assert response.status_code == 202, response.json()
    delivery = Delivery.objects.get()
    assert delivery.status == "processed", delivery.error
    model = Artifact.objects.get()
    assert (model.kind, model.name, model.version, model.run_id, model.ticket) == (
        "model_version",
        "classx-model",
        "v3",
        "r1x2y3",
        one.training,
    )
    evidence = Evidence.objects.get()
    assert (evidence.criterion.code, float(evidence.value), evidence.source) == (
        "test-accuracy",
        0.931,
        "wandb",
    )
    assert evidence.source_url == f"{wandb_server.url}/acme/classx/runs/r1x2y3"
    # Only the URL the admin entered was contacted, with the API key, for that run.
    assert wandb_server.requests == [
        {
            "path": "/graphql",
            "variables": {"entity": "acme", "project": "classx", "name": "r1x2y3"},
            "authorization": "Basic YXBpOmstMTIz",
        }
    ]


def test_artifact_without_a_run_is_a_dataset_version_and_nothing_is_fetched(
    wandb_hook, wandb_server
):
    payload = rendered(**{"${artifact_metadata.sprintplan_run}": ""})
    assert wandb_hook.send(payload).status_code == 202
    artifact = Artifact.objects.get()
    assert (artifact.kind, artifact.checksum) == (
        "dataset_version",
        "wandb-artifact://_id/QXJ0aWZhY3Q6MTIz",
    )
    assert wandb_server.requests == []


def test_wandb_wrong_token_is_401_and_nothing_recorded(wandb_hook, wandb_server):
    before = snapshot()
    response = wandb_hook.send(rendered(), token="not-the-token")
    assert response.status_code == 401
    assert snapshot() == before and wandb_server.requests == []
    assert list(Delivery.objects.values_list("status", flat=True)) == ["rejected"]


def test_wandb_for_another_teams_ticket_is_403(wandb_hook, one):
    response = wandb_hook.send(
        rendered(**{"${artifact_metadata.sprintplan_ticket}": one.labeling.key})
    )
    assert response.status_code == 403
    assert not Artifact.objects.exists()


def test_wandb_without_a_ticket_is_400(wandb_hook):
    response = wandb_hook.send(rendered(**{"${artifact_metadata.sprintplan_ticket}": "${x}"}))
    assert (response.status_code, response.json()["code"]) == (400, "unknown_ticket")


def test_unknown_run_marks_the_delivery_failed(wandb_hook, wandb_server):
    assert wandb_hook.send(rendered()).status_code == 202
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and "no run acme/classx/r1x2y3" in delivery.error


def test_the_page_shows_the_template_to_paste(client, scenario, wandb_hook):
    client.force_login(scenario.users["sm"])
    page = client.get("/integrations/").content.decode()
    assert json.dumps(wandb.TEMPLATE, indent=2).replace('"', "&quot;") in page


def test_the_api_never_lists_the_wandb_api_key(api, wandb_hook):
    body = api("sm").get(f"/api/v1/integrations/{wandb_hook.integration.pk}/").json()
    assert body["config"]["api_key"] == "set"
    assert "k-123" not in json.dumps(body)


def test_an_export_never_lowers_progress_entered_by_hand_unless_told(scenario, prodigy_hook, one):
    from tickets.services import ticket_update

    ticket = Ticket.objects.get(pk=one.labeling.pk)
    ticket_update(
        ticket=ticket,
        actor=scenario.users["lab_lead"],
        changes={"progress": 600},
        expected_version=ticket.version,
    )
    prodigy_hook.link("pets", batch_size=4)  # 2 of 4 answered: 500 of 1000
    assert prodigy_hook.send(SMALL_PRODIGY, "pets").status_code == 202
    assert Ticket.objects.get(pk=one.labeling.pk).progress == 600
    assert "progress 600.00 kept" in Delivery.objects.get().error
