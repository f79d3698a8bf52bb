"""The pure readers of DVC, Prodigy and W&B files, against the real files in ../shared and
small synthetic ones. Expected values are computed here from the files themselves."""

import json
import math
from collections import defaultdict
from itertools import combinations

import pytest
import yaml

from integrations import dvc, prodigy, wandb

from .ml_fixtures import (
    DVC_FILES,
    DVC_LOCKS,
    METRICS,
    PRODIGY,
    SMALL_LOCK,
    SMALL_PRODIGY,
    WANDB_SUMMARIES,
    jsonl,
    shared,
)

# --- DVC ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DVC_LOCKS)
def test_every_lock_file_reads_its_stages_and_directory_outputs(name):
    text = shared("dvc", name).decode()
    raw = yaml.safe_load(text)["stages"]
    lock = dvc.parse_lock(text)
    assert [stage.name for stage in lock.stages] == list(raw)
    expected_dirs = {}
    for body in raw.values():
        for out in body.get("outs", []):
            if str(out["md5"]).endswith(".dir"):
                expected_dirs.setdefault(out["path"], (out["md5"], out["nfiles"], out["size"]))
    found = {e.path: (e.md5, e.nfiles, e.size) for e in lock.output_directories()}
    assert found == expected_dirs and found


def test_dvc2_lock_without_hash_keys_reads_like_dvc3():
    text = shared("dvc", "DEEPCNNCLASSIFIER.dvc2-legacy.dvc.lock").decode()
    assert "hash: md5" not in text
    lock = dvc.parse_lock(text)
    images = next(e for e in lock.output_directories() if e.path.endswith("PetImages"))
    assert (images.md5, images.nfiles) == ("3a5cf86541f22c236620ce5b952ad684.dir", 24998)
    # The training stage reads that directory and writes the model file.
    assert [(m.path, s.name) for m, s in lock.models()] == [
        ("artifacts/training/model.h5", "training")
    ]


def test_models_are_file_outputs_of_stages_that_read_a_directory():
    lock = dvc.parse_lock(shared("dvc", "example-get-started.dvc.lock").decode())
    assert [(m.path, m.md5, s.name) for m, s in lock.models()] == [
        ("model.pkl", "d1f6e055f7f5e2827fcfae68d9b64d4c", "train")
    ]
    # data/data.xml comes from outside the pipeline; the .py sources are not data.
    assert [e.path for e in lock.external_inputs()] == ["data/data.xml"]


def test_nested_params_do_not_disturb_reading():
    lock = dvc.parse_lock(shared("dvc", "example-get-started-experiments.dvc.lock").decode())
    train = next(s for s in lock.stages if s.name == "train")
    assert train.params["params.yaml"]["train"]["fine_tune_args"]["epochs"] == 10
    assert {e.path: e.nfiles for e in lock.output_directories()} == {
        "data/test_data": 34,
        "data/train_data": 148,
    }


@pytest.mark.parametrize(("name", "location"), DVC_FILES.items())
def test_dvc_file_paths_are_relative_to_the_file(name, location):
    text = shared("dvc", name).decode()
    raw = yaml.safe_load(text)
    parsed = dvc.parse_dvc_file(text, location)
    base = location.rsplit("/", 1)[0] + "/" if "/" in location else ""
    assert [(e.path, e.md5) for e in parsed.outs] == [
        (base + out["path"], out["md5"]) for out in raw["outs"]
    ]


def test_imported_dvc_file_keeps_its_source_repository_and_commit():
    parsed = dvc.parse_dvc_file(
        shared("dvc", "example-get-started.data.xml.dvc").decode(), "data/data.xml.dvc"
    )
    assert parsed.imports == (
        dvc.Import(
            "get-started/data.xml",
            "https://github.com/iterative/dataset-registry",
            "f59388cd04276e75d70b2136597aaa27e7937cc3",
        ),
    )
    assert parsed.outs[0].path == "data/data.xml"


@pytest.mark.parametrize("name", METRICS)
def test_metrics_file_and_metrics_show_output_give_the_same_dotted_keys(name):
    text = shared("dvc", name).decode()
    raw = json.loads(text)
    expected = {}
    for key, value in raw.items():
        if isinstance(value, dict):
            expected.update({f"{key}.{inner}": v for inner, v in value.items()})
        else:
            expected[key] = value
    assert dvc.parse_metrics(text).values == expected
    show = json.dumps({"workspace": {"data": {"eval/metrics.json": {"data": raw}}}})
    shown = dvc.parse_metrics(show)
    assert shown.values == expected
    assert set(shown.files.values()) == {"eval/metrics.json"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("stages: [unclosed", "dvc.lock is not YAML (line 1)"),
        ("schema: '2.0'\n", "dvc.lock has no stages"),
        ("schema: '2.0'\nstages: {}\n", "dvc.lock has no stages"),
        ("- just\n- a list\n", "dvc.lock is not a YAML mapping"),
        ("stages:\n  a:\n    outs:\n    - md5: abc\n", "stage a outs: every entry needs a path"),
    ],
)
def test_bad_lock_files_name_the_problem(text, problem):
    with pytest.raises(dvc.DvcError) as caught:
        dvc.parse_lock(text)
    assert str(caught.value) == problem


# --- Prodigy --------------------------------------------------------------------------------


def independent_percent_agreement(lines):
    """Written separately from the reader: per _input_hash, the last non-ignored answer of
    each annotator; choice tasks compare `accept`."""
    by_item = defaultdict(dict)
    for line in lines:
        if line.get("answer") != "ignore" and line.get("_annotator_id"):
            by_item[line["_input_hash"]][line["_annotator_id"]] = tuple(sorted(line["accept"]))
    shares = []
    for chosen in by_item.values():
        pairs = list(combinations(chosen.values(), 2))
        if pairs:
            shares.append(sum(a == b for a, b in pairs) / len(pairs))
    unanimous = sum(share == 1 for share in shares)
    return sum(shares) / len(shares), len(shares), unanimous


def test_multi_annotator_export_agreement_groups_by_input_hash_across_annotators():
    body = shared("prodigy", PRODIGY[0])
    lines = jsonl(body)
    value, compared, unanimous = independent_percent_agreement(lines)
    summary = prodigy.summarise(prodigy.parse(body, dataset="presto_distortion"))
    assert summary.agreement is not None
    assert math.isclose(summary.agreement.value, value)
    assert (summary.agreement.examples_compared, summary.agreement.unanimous) == (
        compared,
        unanimous,
    )
    assert compared == len({line["_input_hash"] for line in lines})
    assert summary.annotators == tuple(sorted({line["_annotator_id"] for line in lines}))
    assert summary.answers == {
        answer: sum(line["answer"] == answer for line in lines) for answer in ("accept", "reject")
    }
    assert "percent agreement" in summary.agreement.method and "_input_hash" in (
        summary.agreement.method
    )


def test_choice_tasks_compare_the_chosen_option_not_the_answer():
    lines = [
        {"_input_hash": 5, "options": [], "accept": ["no"], "answer": "accept",
         "_annotator_id": "d-a"},
        {"_input_hash": 5, "options": [], "accept": ["yes"], "answer": "accept",
         "_annotator_id": "d-b"},
    ]  # fmt: skip
    body = "\n".join(json.dumps(line) for line in lines).encode()
    summary = prodigy.summarise(prodigy.parse(body, dataset="d"))
    assert summary.agreement.value == 0  # same `answer`, different choices


def test_binary_export_without_annotators_counts_answers_and_has_no_agreement():
    body = shared("prodigy", PRODIGY[1])
    lines = jsonl(body)
    summary = prodigy.summarise(prodigy.parse(body, dataset="docs_issues"))
    assert summary.kind == "binary"
    assert summary.answers["accept"] == sum(line["answer"] == "accept" for line in lines)
    assert summary.answers["reject"] == sum(line["answer"] == "reject" for line in lines)
    assert summary.examples == len({line["_input_hash"] for line in lines})
    assert summary.agreement is None and summary.annotators == ()


def test_ner_export_skips_ignored_examples_in_answered():
    body = shared("prodigy", PRODIGY[2])
    lines = jsonl(body)
    summary = prodigy.summarise(prodigy.parse(body, dataset="ner_tweets"))
    assert summary.kind == "spans"
    assert summary.answered == len(
        {line["_input_hash"] for line in lines if line["answer"] != "ignore"}
    )
    assert summary.answers.get("ignore") == sum(line["answer"] == "ignore" for line in lines)


def test_small_synthetic_export():
    summary = prodigy.summarise(prodigy.parse(SMALL_PRODIGY, dataset="pets"))
    assert (summary.examples, summary.answered) == (3, 2)
    assert (summary.agreement.value, summary.agreement.examples_compared) == (0.5, 2)


def test_a_line_that_is_not_json_is_refused_with_its_line_number():
    body = SMALL_PRODIGY + b"{not json\n"
    with pytest.raises(prodigy.ExportError) as caught:
        prodigy.parse(body, dataset="pets")
    assert caught.value.line == 6 and "not JSON" in str(caught.value)


def test_lines_of_another_dataset_are_refused_with_the_line_number():
    other = SMALL_PRODIGY.replace(b'"pets-bob"', b'"birds-bob"')
    with pytest.raises(prodigy.ExportError) as caught:
        prodigy.parse(other, dataset="pets")
    assert caught.value.line == 2 and "'birds'" in str(caught.value)


def test_two_exports_of_different_tasks_glued_together_are_refused():
    glued = shared("prodigy", PRODIGY[1]) + shared("prodigy", PRODIGY[2])
    first_length = len(jsonl(shared("prodigy", PRODIGY[1])))
    with pytest.raises(prodigy.ExportError) as caught:
        prodigy.parse(glued, dataset="x")
    assert caught.value.line == first_length + 1


def test_timestamp_sessions_of_old_exports_are_not_taken_for_datasets():
    line = {
        "_input_hash": 1,
        "label": "X",
        "answer": "accept",
        "_session_id": "2024-02-06_10-17-19",
    }
    assert prodigy.parse(json.dumps(line).encode(), dataset="d")[0].annotator


# --- W&B ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", WANDB_SUMMARIES)
def test_summary_metrics_keep_exact_keys_and_drop_wandb_own(name):
    raw = json.loads(shared("wandb", name))
    metrics = wandb.summary_metrics(raw)
    expected = {
        key: float(value)
        for key, value in raw.items()
        if not key.startswith("_") and isinstance(value, int | float)
    }
    assert metrics == expected
    assert metrics["test/accuracy"] == raw["test/accuracy"]
    assert "_timestamp" not in metrics and "_wandb" not in metrics


def rendered(**overrides):
    values = {
        "${event_type}": "ADD_ARTIFACT_ALIAS",
        "${event_author}": "lena",
        "${entity_name}": "acme",
        "${project_name}": "classx",
        "${artifact_collection_name}": "classx-model",
        "${artifact_version_string}": "acme/classx/classx-model:v3",
        "${artifact_version}": "wandb-artifact://_id/QXJ0aWZhY3Q6MTIz",
        "${alias}": "production",
        "${artifact_metadata.sprintplan_ticket}": "ML-1",
        "${artifact_metadata.sprintplan_run}": "acme/classx/r1x2y3",
    }
    values.update(overrides)
    return {key: values.get(template, template) for key, template in wandb.TEMPLATE.items()}


def test_rendered_template_reads_artifact_ticket_and_run():
    event = wandb.parse_event(rendered())
    assert (event.collection, event.version, event.ticket, event.run_id) == (
        "classx-model",
        "v3",
        "ML-1",
        "r1x2y3",
    )


def test_metadata_left_unrendered_counts_as_absent():
    event = wandb.parse_event(rendered(**{"${artifact_metadata.sprintplan_run}": "${x}"}))
    assert event.run_path == ""


def test_graphql_summary_is_a_json_string_parsed_twice():
    answer = {"data": {"project": {"run": {"name": "r1", "state": "finished",
              "summaryMetrics": json.dumps({"test/accuracy": 0.93, "_step": 4})}}}}  # fmt: skip
    run = wandb.parse_run(answer, "a/b/r1")
    assert run.metrics == {"test/accuracy": 0.93}


def test_small_lock_lineage():
    lock = dvc.parse_lock(SMALL_LOCK.decode())
    assert [e.path for e in lock.external_inputs()] == ["data/labeled"]
    assert [m.path for m, _ in lock.models()] == ["model.pt"]
