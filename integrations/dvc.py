"""DVC files → plain facts. Pure: no Django.

DVC never calls anyone: CI posts what `dvc repro` left behind (dvc.lock, `.dvc` files,
`dvc metrics show --json`). Both lock formats are read: DVC 3 writes `hash: md5` on every
entry, DVC 2.x does not; the md5 is the same either way. A directory's md5 ends in `.dir`
(the hash of DVC's listing of the directory), so it names the *content*: the same data at
two commits has the same md5.
"""

import json
import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import yaml


class DvcError(ValueError):
    """The file is not a DVC file we can read."""


@dataclass(frozen=True)
class Entry:
    """One dependency or output of a stage (or an out of a `.dvc` file)."""

    path: str
    md5: str
    size: int | None = None
    nfiles: int | None = None

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")


@dataclass(frozen=True)
class Stage:
    name: str
    cmd: str
    deps: tuple[Entry, ...]
    outs: tuple[Entry, ...]
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Lock:
    stages: tuple[Stage, ...]

    def produced_paths(self) -> set[str]:
        return {out.path for stage in self.stages for out in stage.outs}

    def output_directories(self) -> list[Entry]:
        """Every directory output, once per path (first stage that writes it)."""
        seen: dict[str, Entry] = {}
        for stage in self.stages:
            for out in stage.outs:
                if out.is_dir:
                    seen.setdefault(out.path, out)
        return list(seen.values())

    def external_inputs(self) -> list[Entry]:
        """Dependencies no stage of this lock produces (data that came from elsewhere),
        without source files: only directories and files that are not code."""
        produced = self.produced_paths()
        seen: dict[str, Entry] = {}
        for stage in self.stages:
            for dep in stage.deps:
                if dep.path not in produced and _is_data(dep):
                    seen.setdefault(dep.path, dep)
        return list(seen.values())

    def models(self) -> list[tuple[Entry, Stage]]:
        """File outputs of a stage that reads a directory: what a training step writes
        (`model.pkl` from `data/features`). Directories are dataset revisions, not models."""
        found = []
        for stage in self.stages:
            if any(dep.is_dir for dep in stage.deps):
                found += [(out, stage) for out in stage.outs if not out.is_dir and _is_model(out)]
        return found


CODE_SUFFIXES = (".py", ".ipynb", ".sh", ".r", ".R", ".jl", ".yaml", ".yml", ".toml", ".cfg")
NOT_A_MODEL_SUFFIXES = (".json", ".csv", ".tsv", ".txt", ".md", ".html", ".png", ".svg")


def _is_data(entry: Entry) -> bool:
    return entry.is_dir or not entry.path.endswith(CODE_SUFFIXES)


def _is_model(entry: Entry) -> bool:
    return not entry.path.endswith(CODE_SUFFIXES + NOT_A_MODEL_SUFFIXES)


def _load_yaml(text: str, what: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise DvcError(f"{what} is not YAML{line}") from None


def parse_lock(text: str) -> Lock:
    data = _load_yaml(text, "dvc.lock")
    if not isinstance(data, dict):
        raise DvcError("dvc.lock is not a YAML mapping")
    stages = data.get("stages")
    if not isinstance(stages, dict) or not stages:
        raise DvcError("dvc.lock has no stages")
    return Lock(tuple(_stage(name, body) for name, body in stages.items()))


def _stage(name: object, body: object) -> Stage:
    if not isinstance(body, dict):
        raise DvcError(f"stage {name} is not a mapping")
    cmd = body.get("cmd", "")
    return Stage(
        name=str(name),
        cmd=" && ".join(map(str, cmd)) if isinstance(cmd, list) else str(cmd or ""),
        deps=tuple(_entries(body.get("deps"), f"stage {name} deps")),
        outs=tuple(_entries(body.get("outs"), f"stage {name} outs")),
        params=body.get("params") if isinstance(body.get("params"), dict) else {},
    )


def _entries(items: object, where: str, base: str = "") -> Iterator[Entry]:
    if items is None:
        return
    if not isinstance(items, list):
        raise DvcError(f"{where} must be a list")
    for item in items:
        if not isinstance(item, dict) or not item.get("path"):
            raise DvcError(f"{where}: every entry needs a path")
        md5 = item.get("md5") or item.get("etag") or item.get("checksum") or ""
        yield Entry(
            path=_join(base, str(item["path"])),
            md5=str(md5),
            size=_int(item.get("size")),
            nfiles=_int(item.get("nfiles")),
        )


def _join(base: str, path: str) -> str:
    return posixpath.normpath(posixpath.join(base, path)) if base else path


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Import:
    """Where an imported `.dvc` output came from (`dvc import`)."""

    path: str
    repo_url: str
    rev_lock: str


@dataclass(frozen=True)
class DvcFile:
    outs: tuple[Entry, ...]
    imports: tuple[Import, ...] = ()


def parse_dvc_file(text: str, location: str) -> DvcFile:
    """A `.dvc` file at `location` (its path in the repository). Its out paths are relative
    to the file's directory: `data/data.xml.dvc` with `path: data.xml` is `data/data.xml`."""
    data = _load_yaml(text, location)
    if not isinstance(data, dict) or not isinstance(data.get("outs"), list):
        raise DvcError(f"{location} has no outs")
    base = posixpath.dirname(location)
    outs = tuple(_entries(data["outs"], f"{location} outs", base=base))
    imports = []
    for dep in data.get("deps") or []:
        repo = dep.get("repo") if isinstance(dep, dict) else None
        if isinstance(repo, dict) and repo.get("url"):
            imports.append(
                Import(str(dep.get("path", "")), str(repo["url"]), str(repo.get("rev_lock", "")))
            )
    return DvcFile(outs, tuple(imports))


def flatten_metrics(data: object, prefix: str = "") -> dict[str, float]:
    """Nested metrics → dotted keys, numbers only (`{"roc_auc": {"test": 0.9}}` →
    `roc_auc.test`), the way `dvc metrics diff` names them."""
    found: dict[str, float] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            found.update(flatten_metrics(value, f"{prefix}{key}."))
    elif isinstance(data, int | float) and not isinstance(data, bool):
        found[prefix.rstrip(".")] = float(data)
    return found


@dataclass(frozen=True)
class Metrics:
    """Metric values by dotted key, and the file each came from."""

    values: dict[str, float]
    files: dict[str, str]
    errors: tuple[str, ...] = ()


def parse_metrics(text: str, name: str = "metrics") -> Metrics:
    """Either `dvc metrics show --json` ({rev: {"data": {file: {"data": {...}}}}}) or one
    metrics file's JSON. From the show output, the first revision is used (the workspace
    or the commit CI ran on)."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise DvcError(f"{name} is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise DvcError(f"{name} must be a JSON object")
    if _is_show_output(data):
        return _from_show(next(iter(data.values())))
    values = flatten_metrics(data)
    return Metrics(values, dict.fromkeys(values, name))


def _is_show_output(data: dict) -> bool:
    first = next(iter(data.values()), None)
    return (
        len(data) >= 1
        and isinstance(first, dict)
        and ("data" in first or "error" in first)
        and all(isinstance(v, dict) for v in (first.get("data") or {}).values())
        and set(first) <= {"data", "error"}
    )


def _from_show(revision: dict) -> Metrics:
    values: dict[str, float] = {}
    files: dict[str, str] = {}
    errors = []
    if "error" in revision and not revision.get("data"):
        errors.append("dvc could not read the metrics of this revision")
    for path, content in (revision.get("data") or {}).items():
        if "error" in content:
            errors.append(f"dvc could not read {path}")
        for key, value in flatten_metrics(content.get("data") or {}).items():
            values.setdefault(key, value)
            files.setdefault(key, path)
    return Metrics(values, files, tuple(errors))


def unique(entries: Iterable[Entry]) -> list[Entry]:
    seen: dict[tuple[str, str], Entry] = {}
    for entry in entries:
        seen.setdefault((entry.path, entry.md5), entry)
    return list(seen.values())
