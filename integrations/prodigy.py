"""Prodigy `db-out` exports (JSONL, one line per annotation) → counts and agreement.
Pure: no Django.

Prodigy never calls anyone: CI or cron runs `prodigy db-out DATASET` and posts the file.
With several annotators there is one line per (example, annotator). Agreement groups the
lines by `_input_hash` (the example) across `_annotator_id`s; what is compared depends on
the task: choice tasks the chosen options in `accept` (their `answer` is "accept" even when
the chosen option means "no"), span tasks the spans (start, end, label), binary tasks the
answer. Ignored lines are skipped. Old exports without `_annotator_id` or `_timestamp` are
read; without annotator ids nothing can be compared, so there is no agreement.
"""

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations

ANSWERS = ("accept", "reject", "ignore")
METHOD = (
    "percent agreement: for each example (grouped by _input_hash) annotated by two or more "
    "annotators, the share of annotator pairs that gave the same annotation; averaged over "
    "those examples"
)
# A session named by Prodigy when no ?session= is given, e.g. 2024-02-06_10-17-19.
TIMESTAMP_SESSION = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}$")


class ExportError(ValueError):
    """The upload is not a db-out export we can read; `line` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True)
class Annotation:
    line: int
    input_hash: int
    annotator: str  # "" when the export carries none
    answer: str
    compared: tuple  # what agreement compares
    kind: str  # choice | spans | binary


@dataclass(frozen=True)
class Agreement:
    value: float
    examples_compared: int
    unanimous: int
    annotators: int
    method: str = METHOD


@dataclass(frozen=True)
class Summary:
    lines: int
    examples: int  # distinct _input_hash
    answered: int  # examples with at least one accept or reject
    answers: dict[str, int]  # accept / reject / ignore line counts
    annotators: tuple[str, ...]
    kind: str
    agreement: Agreement | None

    def as_details(self) -> dict:
        details = {
            "lines": self.lines,
            "examples": self.examples,
            "answered": self.answered,
            "accept": self.answers.get("accept", 0),
            "reject": self.answers.get("reject", 0),
            "ignore": self.answers.get("ignore", 0),
            "annotators": list(self.annotators),
            "task": self.kind,
        }
        if self.agreement:
            details.update(
                method=self.agreement.method,
                examples_compared=self.agreement.examples_compared,
                unanimous=self.agreement.unanimous,
            )
        return details


def parse(body: bytes, *, dataset: str) -> list[Annotation]:
    """Every line of the export, checked: JSON objects with an `_input_hash` and a known
    `answer`, all of one task kind, from one dataset (named sessions are
    "<dataset>-<session>": a line from another dataset's session is refused)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ExportError(f"not UTF-8 ({error.reason})") from None
    annotations: list[Annotation] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        annotation = _annotation(raw, number, dataset)
        if annotations and annotation.kind != annotations[0].kind:
            raise ExportError(
                f"a {annotation.kind} task in an export of {annotations[0].kind} tasks "
                "(one export holds one dataset)",
                number,
            )
        annotations.append(annotation)
    if not annotations:
        raise ExportError("the export is empty")
    return annotations


def _annotation(raw: str, number: int, dataset: str) -> Annotation:
    try:
        line = json.loads(raw)
    except ValueError as error:
        raise ExportError(f"not JSON ({error.msg})", number) from None
    if not isinstance(line, dict):
        raise ExportError("not a JSON object", number)
    input_hash = line.get("_input_hash")
    if not isinstance(input_hash, int) or isinstance(input_hash, bool):
        raise ExportError("no _input_hash", number)
    answer = line.get("answer")
    if answer not in ANSWERS:
        raise ExportError(f"answer must be accept, reject or ignore, not {answer!r}", number)
    annotator = str(line.get("_annotator_id") or line.get("_session_id") or "")
    _check_dataset(annotator, dataset, number)
    kind, compared = _compared(line, answer)
    return Annotation(number, input_hash, annotator, answer, compared, kind)


def _check_dataset(annotator: str, dataset: str, number: int) -> None:
    if not annotator or annotator.startswith(f"{dataset}-") or TIMESTAMP_SESSION.match(annotator):
        return
    if "-" in annotator:  # a named session of another dataset: "<other>-<session>"
        other = annotator.rsplit("-", 1)[0]
        raise ExportError(
            f"annotation from session {annotator!r} of dataset {other!r}, not {dataset!r} "
            "(one export holds one dataset)",
            number,
        )


def _compared(line: dict, answer: str) -> tuple[str, tuple]:
    if "options" in line or isinstance(line.get("accept"), list):
        return "choice", tuple(sorted(str(option) for option in line.get("accept") or []))
    if isinstance(line.get("spans"), list) and "tokens" in line:
        spans = sorted(
            (span.get("start"), span.get("end"), str(span.get("label")))
            for span in line["spans"]
            if isinstance(span, dict)
        )
        return "spans", (answer, tuple(spans))
    return "binary", (str(line.get("label", "")), answer)


def summarise(annotations: list[Annotation]) -> Summary:
    answers = Counter(a.answer for a in annotations)
    examples = {a.input_hash for a in annotations}
    answered = {a.input_hash for a in annotations if a.answer != "ignore"}
    annotators = sorted({a.annotator for a in annotations if a.annotator})
    return Summary(
        lines=len(annotations),
        examples=len(examples),
        answered=len(answered),
        answers=dict(answers),
        annotators=tuple(annotators),
        kind=annotations[0].kind,
        agreement=agreement(annotations),
    )


def agreement(annotations: list[Annotation]) -> Agreement | None:
    """Percent agreement over examples with ≥ 2 annotators (see METHOD). An annotator's
    later line for the same example replaces the earlier one."""
    by_example: dict[int, dict[str, tuple]] = defaultdict(dict)
    for a in annotations:
        if a.annotator and a.answer != "ignore":
            by_example[a.input_hash][a.annotator] = a.compared
    scores, unanimous = [], 0
    for given in by_example.values():
        pairs = list(combinations(given.values(), 2))
        if not pairs:
            continue
        share = sum(x == y for x, y in pairs) / len(pairs)
        scores.append(share)
        unanimous += share == 1
    if not scores:
        return None
    annotators = len({a.annotator for a in annotations if a.annotator})
    return Agreement(sum(scores) / len(scores), len(scores), unanimous, annotators)
