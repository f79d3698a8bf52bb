"""The pure reader and planner: dates, sprint values, fields, link directions, cycles."""

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imports import jira, plan

from .conftest import shared_fixture


def test_dates_in_the_csv_and_rest_forms_are_read_with_their_offsets():
    assert jira.parse_datetime("17/Feb/22 11:02 AM") == datetime(2022, 2, 17, 11, 2, tzinfo=UTC)
    assert jira.parse_datetime("15/Feb/26 12:37 PM") == datetime(2026, 2, 15, 12, 37, tzinfo=UTC)
    assert jira.parse_datetime("24/Mar/26 12:00 AM") == datetime(2026, 3, 24, 0, 0, tzinfo=UTC)
    eight = timezone(timedelta(hours=8))
    assert jira.parse_datetime("2020-06-12T08:13:13.360+0800") == datetime(
        2020, 6, 12, 8, 13, 13, 360000, tzinfo=eight
    )
    assert jira.parse_datetime("2020-06-26T00:38:00.000Z").utcoffset() == timedelta(0)
    assert jira.parse_datetime("<null>") is None
    with pytest.raises(ValueError):
        jira.parse_datetime("yesterday")


def test_server_sprint_strings_split_only_before_known_keys_so_names_keep_their_commas():
    value = (
        "com.atlassian.greenhopper.service.sprint.Sprint@1fdd4900[rapidViewId=3504,"
        "state=CLOSED,name=Sprint 4 — Build, Polish & Rep,startDate=2026-01-05T10:00:00.000+01:00,"
        "endDate=<null>,completeDate=<null>,sequence=5820,goal=Ship, then rest,id=5820]"
    )
    sprint = jira.parse_sprint_value(value)
    assert sprint.jira_id == 5820 and sprint.ref == "id:5820"
    assert sprint.name == "Sprint 4 — Build, Polish & Rep"
    assert sprint.goal == "Ship, then rest"
    assert sprint.state == "closed" and sprint.end is None


def test_the_story_point_field_comes_from_the_board_then_the_schema_then_the_name():
    fields = [
        {
            "id": "customfield_10016",
            "name": "Story point estimate",
            "schema": {"custom": "com.pyxis.greenhopper.jira:jsw-story-points"},
        },
        {
            "id": "customfield_10026",
            "name": "Story Points",
            "schema": {"custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"},
        },
        {
            "id": "customfield_9",
            "name": "Original story points",
            "schema": {"custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"},
        },
        {
            "id": "customfield_10020",
            "name": "Sprint",
            "schema": {"custom": "com.pyxis.greenhopper.jira:gh-sprint"},
        },
    ]
    info = jira.field_info(fields)
    assert info.point_ids == ("customfield_10016", "customfield_10026")
    assert info.sprint_ids == ("customfield_10020",)
    assert jira.field_info(fields, "customfield_10026").point_ids[0] == "customfield_10026"


def test_link_types_of_the_public_sites_default_to_blocks_only_where_the_verb_or_name_says_so():
    sites = json.loads(shared_fixture("link_types_15_public_jiras.json").read_text())
    chosen = {
        (site, t["name"]): plan.default_link_choice(t["name"], t["inward"], t["outward"])
        for site, types in sites.items()
        for t in types.values()
    }
    for (site, name), choice in chosen.items():
        t = sites[site][name]
        if t["outward"].lower() in {"blocks", "is blocking"} and t["inward"] != t["outward"]:
            assert choice == "blocks", (site, name)
    assert chosen[("Sakai", "6 - Blocks")] == "blocks"
    assert chosen[("Apache", "Blocked")] == "ignore"  # the same words both ways
    assert chosen[("Sakai", "5 - Depend")] == "ignore"  # dependencies wait for a choice


def _issue(key, links=(), status="To Do", category="new"):
    return jira.Issue(
        key=key,
        jira_id="",
        project="P",
        summary=key,
        issue_type="Task",
        status=status,
        status_category=category,
        links=[jira.LinkRef("Blocks", "outward", other) for other in links],
    )


def test_a_cycle_among_imported_links_is_named_and_the_link_closing_it_skipped():
    source = jira.Source(
        "csv", [_issue("P-1", ["P-2"]), _issue("P-2", ["P-3"]), _issue("P-3", ["P-1"])]
    )
    built = plan.build(source, plan.Mapping(today="2026-12-01"))
    assert [(link.blocker, link.blocked) for link in built.links] == [
        ("P-1", "P-2"),
        ("P-2", "P-3"),
    ]
    assert [(link.blocker, link.blocked) for link in built.skipped_links] == [("P-3", "P-1")]
    (problem,) = [p for p in built.problems if p.code == "cycle"]
    assert problem.keys == ("P-3", "P-1", "P-2", "P-3")
    assert "P-3 → P-1 → P-2 → P-3" in problem.message


def test_inward_and_outward_sides_of_one_link_make_one_link_in_the_right_direction():
    blocked = jira.Issue(
        key="P-2",
        jira_id="",
        project="P",
        summary="b",
        issue_type="Task",
        status="To Do",
        status_category="new",
        links=[jira.LinkRef("Blocks", "inward", "P-1", "77")],
    )
    blocker = jira.Issue(
        key="P-1",
        jira_id="",
        project="P",
        summary="a",
        issue_type="Task",
        status="To Do",
        status_category="new",
        links=[jira.LinkRef("Blocks", "outward", "P-2", "77")],
    )
    built = plan.build(jira.Source("dc", [blocked, blocker]), plan.Mapping())
    assert [(link.blocker, link.blocked) for link in built.links] == [("P-1", "P-2")]


def test_a_per_status_override_wins_over_the_category():
    source = jira.Source("csv", [_issue("P-1", status="Blocked", category="indeterminate")])
    assert plan.build(source, plan.Mapping()).tickets[0].status == "in_progress"
    mapped = plan.build(source, plan.Mapping(statuses={"Blocked": "todo"}))
    assert mapped.tickets[0].status == "todo"


def test_csv_with_bom_crlf_and_windows_encoding_is_read():
    text = "Summary,Issue key,Status,Status Category\r\nCafé ünïcode,P-1,To Do,To Do\r\n"
    for data in (("\ufeff" + text).encode("utf-8"), text.encode("cp1252")):
        (issue,) = jira.read_csv(data).issues
        assert issue.summary == "Café ünïcode" and issue.status_category == "new"


@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), max_size=60))
def test_the_links_kept_never_form_a_cycle_and_only_cycle_closers_are_dropped(pairs):
    links = [plan.LinkPlan(f"T{a}", f"T{b}", f"{a}>{b}") for a, b in dict.fromkeys(pairs) if a != b]
    kept, skipped = plan.acyclic(links, set())
    succ = {}
    for link in kept:
        succ.setdefault(link.blocker, set()).add(link.blocked)
    # Kahn's order exists over the kept links
    indegree = {}
    for link in kept:
        indegree.setdefault(link.blocker, 0)
        indegree[link.blocked] = indegree.get(link.blocked, 0) + 1
    order = [n for n, d in indegree.items() if d == 0]
    for node in order:
        for nxt in succ.get(node, ()):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                order.append(nxt)
    assert len(order) == len(indegree)
    for link, cycle in skipped:
        assert cycle[0] == cycle[-1] == link.blocker
    assert len(kept) + len(skipped) == len(links)


def test_go_jira_agile_envelope_and_sprint_list_are_read():
    envelope = json.loads(shared_fixture("agile_sprint_issues_envelope.go-jira.json").read_text())
    board = json.loads(shared_fixture("agile_board_sprints.go-jira.json").read_text())
    fields = [
        {
            "id": "customfield_10105",
            "name": "Story Points",
            "schema": {"custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"},
        }
    ]
    issues = envelope["issues"]
    future = next(s for s in board["values"] if s["state"] == "future")
    issues[0]["fields"]["sprint"] = future  # the agile API's `sprint`: a future one here
    issues[0]["fields"]["closedSprints"] = [board["values"][0]]  # carried over from it
    source = jira.read_rest(
        issues, kind="cloud", fields=jira.field_info(fields), sprints=board["values"]
    )
    built = plan.build(source, plan.Mapping(today="2026-12-04"))
    assert [p.code for p in built.problems] == []
    (ticket,) = built.tickets
    assert ticket.size == envelope["issues"][0]["fields"]["customfield_10105"]
    assert (
        ticket.status
        == plan.CATEGORY_DEFAULTS[issues[0]["fields"]["status"]["statusCategory"]["key"]]
    )
    closed, sprint = built.sprints
    assert closed.ref == f"id:{board['values'][0]['id']}" and closed.state == "closed"
    assert ticket.sprint == sprint.ref == f"id:{future['id']}" and sprint.state == "planning"
    # A future sprint has no dates: it starts the day after the last dated one ends.
    assert date.fromisoformat(sprint.start) == date.fromisoformat(closed.end) + timedelta(days=1)


def test_the_four_status_categories_map_by_default_and_no_category_is_a_problem():
    categories = json.loads(shared_fixture("statuscategories_apache.go-jira.json").read_text())
    issues = [_issue(f"P-{c['id']}", status=c["name"], category=c["key"]) for c in categories]
    built = plan.build(jira.Source("dc", issues), plan.Mapping())
    status = {t.key: t.status for t in built.tickets}
    assert status == {"P-1": "backlog", "P-2": "todo", "P-4": "in_progress", "P-3": "done"}
    assert [p.code for p in built.problems] == ["unknown_status"]


def test_a_project_counting_items_sizes_each_ticket_one_whatever_its_points():
    issue = _issue("P-1")
    issue.points = {"Story Points": 8.0}
    source = jira.Source("csv", [issue])
    assert plan.build(source, plan.Mapping()).tickets[0].size == 8.0
    assert plan.build(source, plan.Mapping(item_teams=["P"])).tickets[0].size == 1.0
