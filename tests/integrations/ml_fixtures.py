"""Real DVC / Prodigy / W&B files, read from ../shared/fixtures/ml-tools at test time (never
copied into the repository), and small synthetic files of our own."""

import json
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "ml-tools"

DVC_LOCKS = [
    "example-get-started.dvc.lock",
    "example-get-started-experiments.dvc.lock",
    "Text-Classification-using-MLOps.6stages.dvc.lock",
    "DEEPCNNCLASSIFIER.dvc2-legacy.dvc.lock",
]
DVC_FILES = {  # fixture → where it sits in its repository
    "example-get-started.data.xml.dvc": "data/data.xml.dvc",
    "example-versioning.data.dvc": "data.dvc",
}
METRICS = [
    "example-get-started.eval-live-metrics.json",
    "Text-Classification-using-MLOps.reports-metrics.json",
]
PRODIGY = [
    "presto-nlp-first_phase-presto_distortion.subset.jsonl",
    "explosion-textcat_docs_issues-training.short40.jsonl",
    "explosion-ner_tweets-test_annotated.first40.jsonl",
]
WANDB_SUMMARIES = ["Mlops_assignment2.wandb-summary.json", "MLOpsA2.wandb-summary.json"]


def shared(tool: str, name: str) -> bytes:
    path = SHARED / tool / name
    if not path.exists():
        pytest.skip(f"shared fixture {path} is not on this machine")
    return path.read_bytes()


def jsonl(body: bytes) -> list[dict]:
    return [json.loads(line) for line in body.decode().splitlines() if line.strip()]


# Synthetic: a labeling team's export, two annotators on three images, one disagreement.
SMALL_PRODIGY = b"""\
{"image":"a.jpg","_input_hash":1,"_task_hash":11,"options":[{"id":"cat"},{"id":"dog"}],"accept":["cat"],"answer":"accept","_view_id":"choice","_annotator_id":"pets-ann","_session_id":"pets-ann"}
{"image":"a.jpg","_input_hash":1,"_task_hash":11,"options":[{"id":"cat"},{"id":"dog"}],"accept":["cat"],"answer":"accept","_view_id":"choice","_annotator_id":"pets-bob","_session_id":"pets-bob"}
{"image":"b.jpg","_input_hash":2,"_task_hash":12,"options":[{"id":"cat"},{"id":"dog"}],"accept":["dog"],"answer":"accept","_view_id":"choice","_annotator_id":"pets-ann","_session_id":"pets-ann"}
{"image":"b.jpg","_input_hash":2,"_task_hash":12,"options":[{"id":"cat"},{"id":"dog"}],"accept":["cat"],"answer":"accept","_view_id":"choice","_annotator_id":"pets-bob","_session_id":"pets-bob"}
{"image":"c.jpg","_input_hash":3,"_task_hash":13,"options":[{"id":"cat"},{"id":"dog"}],"accept":[],"answer":"ignore","_view_id":"choice","_annotator_id":"pets-ann","_session_id":"pets-ann"}
"""

# Synthetic: the training pipeline reads the labeling team's images and writes a model.
SMALL_LOCK = b"""\
schema: '2.0'
stages:
  split:
    cmd: python split.py data/labeled
    deps:
    - path: data/labeled
      hash: md5
      md5: 0a1b2c3d4e5f60718293a4b5c6d7e8f9.dir
      size: 52000000
      nfiles: 1000
    - path: split.py
      hash: md5
      md5: 11111111111111111111111111111111
      size: 900
    outs:
    - path: data/train
      hash: md5
      md5: 22222222222222222222222222222222.dir
      size: 41000000
      nfiles: 800
  train:
    cmd: python train.py data/train model.pt
    deps:
    - path: data/train
      hash: md5
      md5: 22222222222222222222222222222222.dir
      size: 41000000
      nfiles: 800
    - path: train.py
      hash: md5
      md5: 33333333333333333333333333333333
      size: 2100
    params:
      params.yaml:
        train.epochs: 12
    outs:
    - path: model.pt
      hash: md5
      md5: 44444444444444444444444444444444
      size: 9000000
"""
