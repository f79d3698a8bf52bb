"""How a page answers a refused change: one mechanism for every server-rendered form.

Services raise `sprintplan.errors.DomainError`; a page shows its message beside the field
it names, with the error's status (htmx is configured to swap 4xx answers), and writes
nothing. This module is the only place that turns the exception into that answer.

Four ways to use it, smallest first:

* `announce(request, action, done=..., said=...)` for a page that answers every POST
  with a redirect and a one-line message (Django's messages framework): a refusal becomes
  the error message, success `said` (text, or a function of what `action` returned).

* `result, error = attempt(action, fields=...)` for a view whose answer to a refusal is
  more than one render (a conflict to merge, an override to offer, a flag beside one row):
  runs `action()` and gives back what it returned, or the `FormError` (nothing raised).
  `error.add_to(form)` puts the message beside the Django form's field it names.

* `submit(request, action, render=..., done=..., form=..., fields=...)` in any function
  view: runs `action()`; a refusal comes back as `render(FormError)` with the error's
  status; a success redirects to `done` (a plain POST) or, for htmx, answers
  `render(None)` — the fresh page part — unless `rerender=False`.

      @require_POST
      def team_rename(request, pk):
          team = get_object_or_404(Team, pk=pk)
          return pages.submit(
              request,
              lambda: services.team_update(actor=request.user, team=team, ...),
              render=lambda error: _render_team(request, team, error),
              done=reverse("team-detail", args=[team.pk]),
              form="rename",
              fields=("name",),
          )

* `@pages.refusals(render)` around a view that calls services itself: a DomainError
  escaping the view becomes `render(request, error, *args, **kwargs)`.

* `Page` + `CreateView` / `EditView` / `RemoveView` (and `PageAction` for any other
  one-call action, `versioned=True` when the service takes `expected_version`): a page
  whose forms post to small action views that each make one service call. Describe the
  page once (how to render it with an error, where it lives, its form fields), name the
  row an action works on with a `Target`, and declare each action:

      OBJECTIVES = pages.Page(
          owner=_pi, owner_field="pi", render=_render_objectives, url_name="pi-objectives"
      )
      OBJECTIVE = pages.Target(Objective, "objective_id", "obj-{obj.pk}", "objective")
      objective_remove = pages.RemoveView.as_view(
          page=OBJECTIVES, target=OBJECTIVE, service=services.objective_delete
      )

Templates get `error` with `form` (which form on the page failed), `field` (the input
to mark, "" for a form-level message), `message`, `status`, `code` and `stale`."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View

from .errors import DomainError, StaleVersion

Render = Callable[["FormError | None"], HttpResponse]


@dataclass(frozen=True)
class FormError:
    """A refusal as a page shows it."""

    message: str
    status: int = 400
    code: str = "invalid"
    form: str = ""
    field: str = ""
    stale: bool = False
    # A stale edit: the object as it is now, to show theirs beside yours.
    current: Any = None
    extra: dict | None = None

    @classmethod
    def from_exception(
        cls, exc: DomainError, *, form: str = "", fields: Iterable[str] | None = None
    ) -> "FormError":
        """`fields`: the inputs the form has; a field the form lacks becomes form-level,
        so the message is never lost beside an input that is not there."""
        field = exc.field or ""
        if fields is not None and field not in set(fields):
            field = ""
        return cls(
            message=exc.message,
            status=exc.status,
            code=exc.code,
            form=form,
            field=field,
            stale=isinstance(exc, StaleVersion),
            current=getattr(exc, "current", None),
            extra=exc.extra or None,
        )

    def by_field(self) -> dict[str, str]:
        """{field or "form": message}, for templates that keep one dict of messages."""
        return {self.field or "form": self.message}

    def add_to(self, form) -> None:
        """Beside the Django form's field it names, or above the form when the form has
        no such field."""
        form.add_error(self.field if self.field in form.fields else None, self.message)


def announce(
    request: HttpRequest,
    action: Callable[[], Any],
    *,
    done: str,
    said: str | Callable[[Any], str] | None = None,
    refused: str = "",
) -> HttpResponse:
    """Run `action`, tell the outcome as a message (a refusal prefixed by `refused`), and
    redirect to `done` either way."""
    try:
        result = action()
    except DomainError as exc:
        messages.error(request, f"{refused}{exc.message}")
    else:
        if said:
            messages.success(request, said(result) if callable(said) else said)
    return redirect(done)


def attempt(
    action: Callable[[], Any], *, form: str = "", fields: Iterable[str] | None = None
) -> tuple[Any, FormError | None]:
    """Run `action`: (what it returned, None) when it went through, (None, its refusal as a
    `FormError`) when a service refused it; the view decides how to show the refusal, with
    the error's `status`."""
    try:
        return action(), None
    except DomainError as exc:
        return None, FormError.from_exception(exc, form=form, fields=fields)


def is_partial(request: HttpRequest) -> bool:
    """An htmx request that swaps part of the page (a boosted one wants the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx and not htmx.boosted)


def submit(
    request: HttpRequest,
    action: Callable[[], Any],
    *,
    render: Render,
    done: str | Callable[[Any], str],
    form: str = "",
    fields: Iterable[str] | None = None,
    rerender: bool = True,
) -> HttpResponse:
    """Run `action`. Refused: `render(error)` with the error's status. Done: htmx gets
    `render(None)` (when `rerender`), a plain POST a redirect to `done` (a URL, or a
    function of what `action` returned)."""
    try:
        result = action()
    except DomainError as exc:
        return _refused(render(FormError.from_exception(exc, form=form, fields=fields)), exc)
    if rerender and is_partial(request):
        return render(None)
    return redirect(done(result) if callable(done) else done)


def refusals(
    render: Callable[..., HttpResponse], *, form: str = "", fields: Iterable[str] | None = None
):
    """Decorator: a DomainError raised by the view becomes
    `render(request, error, *args, **kwargs)` answered with the error's status."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                return view(request, *args, **kwargs)
            except DomainError as exc:
                error = FormError.from_exception(exc, form=form, fields=fields)
                return _refused(render(request, error, *args, **kwargs), exc)

        return wrapper

    return decorate


def _refused(response: HttpResponse, exc: DomainError) -> HttpResponse:
    response.status_code = exc.status
    return response


# --- generic create / edit / remove views -----------------------------------------------


@dataclass(frozen=True)
class Page:
    """A page whose forms post to action views and which answers with itself.

    `owner(pk)` loads the page's object from the URL (404 when missing); `render(request,
    owner, error)` draws it (the htmx part when `is_partial`); `url_name` names the page's
    URL (its one argument the owner's pk), where a plain POST returns to (at the form's
    anchor with `anchor`); `fields` are the inputs of its forms (None: every field a
    service names is on the form); `owner_field` is how the rows on the page point at the
    owner, also the keyword services take the owner by."""

    owner: Callable[[Any], Any]
    render: Callable[[HttpRequest, Any, FormError | None], HttpResponse]
    url_name: str
    fields: tuple[str, ...] | None = None
    owner_field: str = ""
    anchor: bool = False

    def answer(
        self,
        request: HttpRequest,
        owner: Any,
        action: Callable[[], Any],
        *,
        form: str,
        fields: Iterable[str] | None = None,
    ) -> HttpResponse:
        """`submit` with this page as the answer."""
        done = reverse(self.url_name, args=[owner.pk])
        if self.anchor:
            done += "#" + form.replace("_", "-")
        return submit(
            request,
            action,
            render=lambda error: self.render(request, owner, error),
            done=done,
            form=form,
            fields=self.fields if fields is None else fields,
        )


@dataclass(frozen=True)
class Target:
    """What an edit or remove acts on: a `model` (or queryset) row found by `lookup` (the
    URL keyword holding its pk, or {field: URL keyword}) among the owner's, its form's id
    on the page (`form`, formatted with `obj`) and the service keyword it is passed by."""

    model: Any
    lookup: str | dict[str, str]
    form: str
    argument: str

    def get(self, owner: Any, owner_field: str, kwargs: dict[str, Any]) -> Any:
        lookup = {"pk": self.lookup} if isinstance(self.lookup, str) else self.lookup
        match = {field: kwargs[name] for field, name in lookup.items()}
        if owner_field:  # a URL cannot reach another owner's row
            match[owner_field] = owner
        return get_object_or_404(self.model, **match)


class PageAction(View):
    """POST only: load the page's owner (URL keyword `owner_kwarg`) and the `target` (none:
    the action is on the owner, its form id `form`), make one service call, answer with
    the page. Configure with `as_view(page=..., target=..., service=..., parse=...)`:
    `parse(post, owner, obj)` returns the service's other keywords; `versioned` adds
    `expected_version=` the version the form saw (see `version`)."""

    http_method_names = ["post"]
    page: Page | None = None
    target: Target | None = None
    owner_kwarg = "pk"
    form = "add"
    fields: tuple[str, ...] | None = None
    versioned = False
    service: Callable[..., Any] | None = None
    parse: Callable[..., dict[str, Any]] | None = None

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        page = self.page
        owner = page.owner(kwargs[self.owner_kwarg])
        if self.target is None:
            obj, form, argument = owner, self.form, page.owner_field
        else:
            obj = self.target.get(owner, page.owner_field, kwargs)
            form, argument = self.target.form.format(obj=obj), self.target.argument
        return page.answer(
            request,
            owner,
            lambda: self.service(
                actor=request.user, **{argument: obj}, **self.keywords(request, owner, obj)
            ),
            form=form,
            fields=self.fields,
        )

    def keywords(self, request: HttpRequest, owner: Any, obj: Any) -> dict[str, Any]:
        values = self.parse(request.POST, owner, obj) if self.parse else {}
        if self.versioned:
            values["expected_version"] = version(request.POST)
        return values


class CreateView(PageAction):
    """Create something on the page's owner: `service(actor=, <owner_field>=owner,
    **parse(...))`."""


class EditView(PageAction):
    """Change the target at the version the form saw:
    `service(actor=, <argument>=obj, changes=parse(...), expected_version=<version>)`."""

    versioned = True

    def keywords(self, request: HttpRequest, owner: Any, obj: Any) -> dict[str, Any]:
        changes = self.parse(request.POST, owner, obj) if self.parse else {}
        return {"changes": changes, "expected_version": version(request.POST)}


class RemoveView(PageAction):
    """Remove the target: `service(actor=, <argument>=obj)`; a refusal is form-level."""

    fields = ()


def version(data) -> int:
    """The `version` a form sent; 0 when absent, so the service answers with a conflict
    naming the current version instead of the page failing."""
    try:
        return int(data.get("version"))
    except (TypeError, ValueError):
        return 0
