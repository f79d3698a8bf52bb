"""sprintplan.pages: how any page answers a refused change (a DomainError), and the one
declaration of the decision fields that the service, the API and the page read."""

import pytest
from django.http import HttpResponse
from django_htmx.middleware import HtmxDetails

from programs.api.governance import DecisionInputSerializer
from programs.services.governance import DECISION_FIELDS
from sprintplan import pages
from sprintplan.errors import Conflict, DomainError, InvalidInput, PermissionDenied, StaleVersion


@pytest.fixture
def post(rf):
    def make(htmx: bool = False, boosted: bool = False):
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        if boosted:
            headers["HTTP_HX_BOOSTED"] = "true"
        request = rf.post("/x/", **headers)
        request.htmx = HtmxDetails(request)
        return request

    return make


class Drawn:
    """A render function that remembers the error it was given."""

    def __init__(self):
        self.errors = []

    def __call__(self, error):
        self.errors.append(error)
        return HttpResponse("page")


def _raise(exc):
    def action():
        raise exc

    return action


@pytest.mark.parametrize(
    "exc, status",
    [
        (InvalidInput("Give a title.", field="title"), 400),
        (PermissionDenied("Only the Scrum master."), 403),
        (Conflict("Taken.", field="title"), 409),
        (StaleVersion("Changed meanwhile.", current=None), 409),
    ],
)
def test_a_refusal_renders_the_page_with_the_errors_status(post, exc, status):
    drawn = Drawn()
    response = pages.submit(
        post(htmx=True), _raise(exc), render=drawn, done="/done/", form="add", fields=("title",)
    )
    assert response.status_code == status
    [error] = drawn.errors
    assert (error.form, error.message, error.status) == ("add", exc.message, status)
    assert error.stale is isinstance(exc, StaleVersion)


def test_the_field_is_kept_only_when_the_form_has_it():
    exc = InvalidInput("Unknown sprint 9.", field="sprints")
    assert pages.FormError.from_exception(exc, fields=("sprints",)).field == "sprints"
    assert pages.FormError.from_exception(exc, fields=("title",)).field == ""
    assert pages.FormError.from_exception(exc).field == "sprints"  # no list: trust the service
    assert pages.FormError.from_exception(exc, fields=()).by_field() == {
        "form": "Unknown sprint 9."
    }


def test_success_redirects_a_plain_post_and_rerenders_for_htmx(post):
    drawn = Drawn()
    plain = pages.submit(post(), lambda: 7, render=drawn, done=lambda n: f"/things/{n}/")
    assert (plain.status_code, plain["Location"], drawn.errors) == (302, "/things/7/", [])
    swapped = pages.submit(post(htmx=True), lambda: 7, render=drawn, done="/things/")
    assert (swapped.status_code, drawn.errors) == (200, [None])
    boosted = pages.submit(post(htmx=True, boosted=True), lambda: 7, render=drawn, done="/t/")
    assert boosted.status_code == 302  # a boosted form wants the whole next page


def test_rerender_false_redirects_htmx_too(post):
    response = pages.submit(
        post(htmx=True), lambda: 3, render=Drawn(), done=lambda n: f"/p/{n}/", rerender=False
    )
    assert (response.status_code, response["Location"]) == (302, "/p/3/")


def test_anything_but_a_domain_error_is_not_swallowed(post):
    with pytest.raises(ZeroDivisionError):
        pages.submit(post(), lambda: 1 / 0, render=Drawn(), done="/")


def test_refusals_decorator_turns_a_raised_error_into_the_page(post):
    seen = []

    def render(request, error, pk):
        seen.append((error.field, error.message, pk))
        return HttpResponse("form again")

    @pages.refusals(render, form="edit", fields=("name",))
    def view(request, pk):
        if pk == 1:
            return HttpResponse("saved")
        raise DomainError("Name taken.", field="name")

    refused = view(post(), pk=4)
    assert (refused.status_code, seen) == (400, [("name", "Name taken.", 4)])
    assert view(post(), pk=1).content == b"saved"
    assert view.__name__ == "view"


def test_decision_fields_are_declared_once_for_service_api_and_page():
    from programs.views.governance import DECISIONS

    api_fields = set(DecisionInputSerializer().fields) - {"version"}
    assert api_fields == set(DECISION_FIELDS)
    assert set(DECISIONS.fields) == set(DECISION_FIELDS)
