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


def test_attempt_gives_back_the_result_or_the_refusal_without_raising():
    assert pages.attempt(lambda: 42) == (42, None)
    result, error = pages.attempt(
        _raise(StaleVersion("Changed meanwhile.", current="theirs", field="title")),
        fields=("title",),
    )
    assert result is None
    assert (error.status, error.stale, error.current, error.field) == (409, True, "theirs", "title")
    with pytest.raises(ZeroDivisionError):  # only refusals are turned into answers
        pages.attempt(lambda: 1 / 0)


def test_add_to_puts_the_message_beside_the_named_field_or_above_the_form():
    from django import forms

    class Form(forms.Form):
        title = forms.CharField()

    named, elsewhere = Form({"title": "x"}), Form({"title": "x"})
    named.is_valid(), elsewhere.is_valid()
    pages.FormError("Taken.", field="title").add_to(named)
    pages.FormError("Only the Scrum master.", field="role").add_to(elsewhere)
    assert named.errors == {"title": ["Taken."]}
    assert elsewhere.non_field_errors() == ["Only the Scrum master."]


def test_announce_redirects_with_the_outcome_as_a_message(post):
    from django.contrib.messages import get_messages
    from django.contrib.messages.storage.fallback import FallbackStorage

    def request():
        made = post()
        made.session = {}
        made._messages = FallbackStorage(made)
        return made

    done = request()
    response = pages.announce(done, lambda: 5, done="/back/", said=lambda n: f"{n} added.")
    assert (response.status_code, response["Location"]) == (302, "/back/")
    assert [m.message for m in get_messages(done)] == ["5 added."]

    refused = request()
    response = pages.announce(
        refused,
        _raise(InvalidInput("Give a title.", field="title")),
        done="/back/",
        said="never said",
        refused="Not added: ",
    )
    assert response.status_code == 302
    assert [(m.level_tag, m.message) for m in get_messages(refused)] == [
        ("error", "Not added: Give a title.")
    ]
