"""JUnit uploads: parsed with defusedxml; passed iff tests > 0 and no failures or errors."""

import pytest

from integrations import junit
from integrations.models import Delivery
from quality.models import Evidence

from . import payloads
from .conftest import make_integration


def test_parse_pass_fail_nested_and_empty():
    assert junit.parse(payloads.JUNIT_PASS).passed
    failed = junit.parse(payloads.JUNIT_FAIL)
    assert (failed.passed, failed.tests, failed.failures, failed.errors) == (False, 3, 1, 1)
    assert failed.failing_tests == [
        "classx.acceptance.test_recall_class_x",
        "classx.acceptance.test_export",
    ]
    nested = junit.parse(payloads.JUNIT_NESTED)
    assert (nested.passed, nested.tests, nested.skipped) == (True, 3, 1)
    assert not junit.parse(payloads.JUNIT_EMPTY).passed  # zero tests is not a pass


def test_a_doctype_is_refused_even_without_entities():
    report = (
        b'<?xml version="1.0"?><!DOCTYPE testsuite>'
        b'<testsuite tests="1"><testcase name="a"/></testsuite>'
    )
    with pytest.raises(junit.JUnitError, match="unsafe XML"):
        junit.parse(report)


def test_an_xml_bomb_is_refused_not_expanded():
    with pytest.raises(junit.JUnitError, match="unsafe XML"):
        junit.parse(payloads.XML_BOMB)


@pytest.fixture
def upload(scenario, one, hooks):
    created = make_integration(scenario, "junit", scenario.qa)

    def post(body, ticket=None, criterion="", token=None):
        ticket = ticket or one.validation.key
        url = f"/hooks/junit/{created.integration.pk}/?ticket={ticket}"
        if criterion:
            url += f"&criterion={criterion}"
        return hooks(
            url,
            body,
            content_type="application/xml",
            **{"X-Sprintplan-Token": token or created.secret},
        )

    return post


def test_passing_then_failing_suite_is_evidence_for_the_qa_criterion(upload, one):
    from quality.services import done_gate_failures

    assert upload(payloads.JUNIT_FAIL, criterion="qa-acceptance").status_code == 202
    evidence = Evidence.objects.get()
    assert (evidence.source, evidence.passed) == ("junit", False)
    assert evidence.details["failing_tests"][0] == "classx.acceptance.test_recall_class_x"
    assert "failed: classx.acceptance.test_recall_class_x" in done_gate_failures(one.validation)[0]
    assert upload(payloads.JUNIT_PASS).status_code == 202
    assert done_gate_failures(one.validation) == []


@pytest.mark.parametrize(
    ("body", "params", "status", "code"),
    [
        (payloads.XML_BOMB, {}, 400, "malformed_xml"),
        (b"<testsuite><testcase>", {}, 400, "malformed_xml"),
        (b"<html/>", {}, 400, "malformed_xml"),
        (payloads.JUNIT_PASS, {"ticket": "QA-999"}, 400, "unknown_ticket"),
        (payloads.JUNIT_PASS, {"criterion": "no-such-check"}, 400, "unknown_criterion"),
        (payloads.JUNIT_PASS, {"criterion": "test-accuracy"}, 400, "wrong_kind"),
        (payloads.JUNIT_PASS, {"token": "nope"}, 401, "not_authenticated"),
    ],
)
def test_bad_uploads_are_refused_and_store_only_a_rejection(upload, body, params, status, code):
    response = upload(body, **params)
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert list(Delivery.objects.values_list("status", flat=True)) == ["rejected"]
    assert not Evidence.objects.exists()


def test_a_report_for_a_metric_criterion_is_refused(scenario, one, hooks):
    from quality.services import acceptance_criterion_add
    from tests.factories import TicketFactory

    check = TicketFactory(team=scenario.qa, type="validation")
    acceptance_criterion_add(
        actor=scenario.users["qa_lead"],
        ticket=check,
        code="recall",
        text="Recall ≥ 0.85",
        kind="metric",
        metric_key="recall",
        comparator=">=",
        threshold="0.85",
    )
    created = make_integration(scenario, "junit", scenario.qa)
    url = f"/hooks/junit/{created.integration.pk}/?ticket={check.key}&criterion=recall"
    response = hooks(
        url,
        payloads.JUNIT_PASS,
        content_type="application/xml",
        **{"X-Sprintplan-Token": created.secret},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "wrong_kind"


def test_another_teams_ticket_is_403(upload, one):
    response = upload(payloads.JUNIT_PASS, ticket=one.training.key)
    assert response.status_code == 403
