"""Benchmark dependencies/graph.py on synthetic backlogs (no Django, no database).

    python bench/bench_graph.py [--sizes 1000 10000 100000] [--runs 5] [--changes 200]

Backlog shape (seeded): epics of 50 consecutive tickets, ~2.36 links per ticket, 85% of them
inside an epic and 15% towards one of the next three epics of the same programme (20 epics),
links only from lower to higher position (acyclic), ~60% done (epics are done front to back,
with 5% noise), 3 teams, sprints 0..5 plus an unplanned backlog. Chains come out ~300 deep.

Times are CPU milliseconds (median, p95, worst over the runs); incremental and find_cycle
samples are single random changes / candidate links, each from the same base state.
"""

import argparse
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dependencies import graph

EPIC_SIZE = 50
PROGRAMME_EPICS = 20
LINKS_PER_TICKET = 2.36
WITHIN_EPIC = 0.85
TEAMS = 3
SPRINTS = 6


def synthetic_backlog(size: int, seed: int = 7) -> tuple[list[graph.Node], list[graph.Link]]:
    rng = random.Random(seed)
    return _tickets(size, rng), _links(size, rng)


def _tickets(size: int, rng: random.Random) -> list[graph.Node]:
    nodes = []
    for epic_start in range(0, size, EPIC_SIZE):
        epic_team = rng.randrange(TEAMS)
        progress = rng.uniform(0.2, 1.0)  # share of the epic already done, front to back
        for position in range(epic_start, min(epic_start + EPIC_SIZE, size)):
            done = ((position - epic_start) < progress * EPIC_SIZE) != (rng.random() < 0.05)
            team = epic_team if rng.random() < 0.75 else rng.randrange(TEAMS)
            nodes.append(
                graph.Node(
                    id=position + 1,
                    key=f"T{team}-{position + 1}",
                    team_id=team,
                    done=done,
                    remaining_days=0.0 if done else round(rng.uniform(0.5, 8.0), 1),
                    sprint_rank=_sprint_rank(done, rng),
                )
            )
    return nodes


def _sprint_rank(done: bool, rng: random.Random) -> int | None:
    if done:
        return rng.randrange(3)
    return None if rng.random() < 0.25 else rng.randrange(SPRINTS)


def _links(size: int, rng: random.Random) -> list[graph.Link]:
    wanted = round(LINKS_PER_TICKET * size)
    links: set[graph.Link] = set()
    while len(links) < wanted:
        link = _within_epic_link(size, rng) if rng.random() < WITHIN_EPIC else None
        link = link or _cross_epic_link(size, rng)
        if link:
            links.add(link)
    # Materialise fresh objects in row order, as a database driver would: iterating tuples
    # scattered over the heap by the random generation is ~4x slower and would skew timings.
    return [(blocker, blocked) for blocker, blocked in json.loads(json.dumps(sorted(links)))]


def _within_epic_link(size: int, rng: random.Random) -> graph.Link | None:
    source = rng.randrange(size)
    epic_end = min((source // EPIC_SIZE + 1) * EPIC_SIZE, size) - 1
    target = source + 1 + int(rng.expovariate(1 / 3))
    return (source + 1, target + 1) if target <= epic_end else None


def _cross_epic_link(size: int, rng: random.Random) -> graph.Link | None:
    source = rng.randrange(size)
    epic = source // EPIC_SIZE
    target_epic = epic + rng.randint(1, 3)
    same_programme = target_epic // PROGRAMME_EPICS == epic // PROGRAMME_EPICS
    target = target_epic * EPIC_SIZE + rng.randrange(EPIC_SIZE)
    return (source + 1, target + 1) if same_programme and target < size else None


# --- measurements -----------------------------------------------------------------------------


def timed(action: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """CPU milliseconds of one call, and its result. The machine is shared with other work:
    CPU time is steadier than wall time (single-threaded code: the same when idle)."""
    started = time.process_time()
    result = action(*args)
    return (time.process_time() - started) * 1000, result


def summary(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95, ordered[-1]


def longest_chain(nodes: list[graph.Node], links: list[graph.Link]) -> int:
    depth = {node.id: 1 for node in nodes}
    for blocker, blocked in links:  # sorted by blocker, and blockers precede what they block
        depth[blocked] = max(depth[blocked], depth[blocker] + 1)
    return max(depth.values())


def bench_full(nodes, links, runs) -> tuple[list[float], list[float]]:
    """The full pass, and the collection the caller pays afterwards (the GC is paused inside)."""
    passes, collections = [], []
    for _ in range(runs):
        passes.append(timed(graph.compute_insights, nodes, links)[0])
        collections.append(timed(gc.collect)[0])
    return passes, collections


def bench_incremental(nodes, links, base, changes, rng) -> dict[str, list[float]]:
    """One random status toggle at a time, each from the base state: the public call end to
    end, then its two phases separately (building the index, the affected-only work)."""
    samples: dict[str, list[float]] = {"end to end": [], "index build": [], "work": [], "rows": []}
    for _ in range(changes):
        position = rng.randrange(len(nodes))
        old = nodes[position]
        toggled = replace(old, done=not old.done, remaining_days=0.0 if not old.done else 2.0)
        changed = [*nodes[:position], toggled, *nodes[position + 1 :]]
        elapsed, _ = timed(graph.recompute_incremental, changed, links, [old.id], base)
        samples["end to end"].append(elapsed)
        with graph._gc_paused():  # as inside the public call
            elapsed, index = timed(graph._Index, changed, links)
            samples["index build"].append(elapsed)
            elapsed, result = timed(graph._recompute_on_index, index, [old.id], base)
            samples["work"].append(elapsed)
        samples["rows"].append(len(result))
    return samples


def bench_find_cycle(nodes, links, candidates, rng) -> tuple[list[float], int]:
    """Half random pairs, half pairs close in the backlog (likelier to close a cycle)."""
    successors: dict[int, list[int]] = {}
    for blocker, blocked in links:
        successors.setdefault(blocker, []).append(blocked)
    samples, refused = [], 0
    for attempt in range(candidates):
        blocker = rng.randrange(len(nodes))
        if attempt % 2:
            blocked = rng.randrange(len(nodes))
        else:
            blocked = max(0, min(len(nodes) - 1, blocker + rng.randint(-500, 500)))
        elapsed, cycle = timed(graph.find_cycle, successors, nodes[blocker].id, nodes[blocked].id)
        samples.append(elapsed)
        refused += cycle is not None
    return samples, refused


def bench_critical_path(nodes, links, runs) -> tuple[list[float], graph.CriticalPath]:
    scope = {node.id for node in nodes if node.sprint_rank == 0 and not node.done}
    runs_ = [timed(graph.critical_path, nodes, links, scope) for _ in range(runs)]
    return [elapsed for elapsed, _ in runs_], runs_[0][1]


def row(size: int, label: str, samples: list[float], note: str = "") -> str:
    median, p95, worst = summary(samples)
    return f"{size:>7} | {label:<28} | {median:>9.2f} | {p95:>9.2f} | {worst:>9.2f} | {note}"


def run(size: int, runs: int, changes: int) -> list[str]:
    nodes, links = synthetic_backlog(size)
    rng = random.Random(size)
    base = graph.compute_insights(nodes, links)
    done = sum(node.done for node in nodes)
    print(
        f"# {size} tickets, {len(links)} links ({len(links) / size:.2f}/ticket), "
        f"{done / size:.0%} done, longest chain {longest_chain(nodes, links)}, "
        f"max depth {max(i.depth for i in base.values())}, "
        f"max downstream {max(i.downstream_count for i in base.values())}",
        flush=True,
    )
    passes, collections = bench_full(nodes, links, runs)
    rows = [
        row(size, "compute_insights (full)", passes),
        row(
            size,
            "  + gc.collect() after it",
            collections,
            "upper bound of the GC work deferred to the caller",
        ),
    ]
    incremental = bench_incremental(nodes, links, base, changes, rng)
    rows.append(row(size, "incremental: end to end", incremental["end to end"]))
    rows.append(row(size, "  of which index build", incremental["index build"]))
    rows.append(
        row(
            size,
            "  of which affected work",
            incremental["work"],
            f"rows changed median {statistics.median(incremental['rows']):.0f}, "
            f"max {max(incremental['rows']):.0f}",
        )
    )
    cycle_samples, refused = bench_find_cycle(nodes, links, 1000, rng)
    rows.append(row(size, "find_cycle (random link)", cycle_samples, f"{refused}/1000 refused"))
    path_samples, path = bench_critical_path(nodes, links, runs)
    rows.append(
        row(
            size,
            "critical_path (sprint 0)",
            path_samples,
            f"{len(path.slack_days)} tickets, path {len(path.path)} long, "
            f"{path.length_days:.1f} days",
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--changes", type=int, default=200)
    args = parser.parse_args()
    table = [
        f"{'tickets':>7} | {'operation':<28} | {'median ms':>9} | {'p95 ms':>9} | "
        f"{'worst ms':>9} | note"
    ]
    for size in args.sizes:
        table.extend(run(size, args.runs, args.changes))
    print("\n".join(table))


if __name__ == "__main__":
    main()
