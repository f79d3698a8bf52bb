"""Forms parse page input; services decide. Field errors come back beside the field."""

from django import forms

from accounts.models import User
from sprints.models import Sprint
from teams.models import Team
from tickets.models import Ticket


class InlineTicketForm(forms.Form):
    """Status and progress, edited in place on the sprint page."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(choices=Ticket.Status.choices, required=False)
    progress = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2, required=False)


class TicketForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    title = forms.CharField(max_length=200, required=False)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    type = forms.ChoiceField(choices=Ticket.Type.choices, required=False)
    status = forms.ChoiceField(choices=Ticket.Status.choices, required=False)
    size = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2, required=False)
    progress = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2, required=False)
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), required=False)
    sprint = forms.ModelChoiceField(
        queryset=Sprint.objects.exclude(state=Sprint.State.CLOSED).order_by("start_date"),
        required=False,
        empty_label="Backlog (no sprint)",
    )
    parent = forms.CharField(
        max_length=24,
        required=False,
        label="Parent",
        widget=forms.TextInput(
            attrs={"placeholder": "Ticket key, e.g. ML-3", "autocomplete": "off"}
        ),
    )
    override_reason = forms.CharField(
        max_length=500,
        required=False,
        label="Override reason (to close despite unfinished blockers)",
    )

    def __init__(
        self, *args, ticket: Ticket, editable: frozenset[str], may_override: bool = False, **kw
    ):
        super().__init__(*args, **kw)
        if may_override:
            editable = editable | {"status"}  # closing with an override is theirs to do
        else:
            del self.fields["override_reason"]
        self.fields["assignee"].queryset = User.objects.filter(
            teams=ticket.team, is_active=True
        ).order_by("username")
        for name, field in self.fields.items():
            if name not in {"version", "override_reason"} and name not in editable:
                field.disabled = True

    def clean_parent(self):
        return _ticket_by_key(self.cleaned_data.get("parent"))

    def changes(self) -> dict:
        """Only the fields the user could edit and actually sent."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in {"version", "override_reason"}
            and not self.fields[name].disabled
            and name in self.data
        }


class AddBlockerForm(forms.Form):
    blocker = forms.CharField(
        max_length=24,
        label="Blocked by",
        widget=forms.TextInput(
            attrs={"placeholder": "Ticket key, e.g. LAB-1", "autocomplete": "off"}
        ),
    )

    def clean_blocker(self) -> Ticket:
        key = self.cleaned_data["blocker"].strip().upper()
        ticket = Ticket.objects.select_related("team").filter(key=key).first()
        if ticket is None:
            raise forms.ValidationError(f"There is no ticket {key}.")
        return ticket


def _ticket_by_key(raw) -> Ticket | None:
    key = (raw or "").strip().upper()
    if not key:
        return None
    ticket = Ticket.objects.select_related("team").filter(key=key).first()
    if ticket is None:
        raise forms.ValidationError(f"There is no ticket {key}.")
    return ticket


class NewTicketForm(forms.Form):
    """The full form: every field a ticket has, links picked by key."""

    title = forms.CharField(max_length=200)
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), empty_label=None)
    type = forms.ChoiceField(choices=Ticket.Type.choices, initial=Ticket.Type.TASK)
    size = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2, required=False)
    # A training run is estimated as a range; the plan uses the likely value, the range is
    # kept in the description for the forecast's reader.
    size_low = forms.DecimalField(min_value=0, required=False, label="Optimistic")
    size_high = forms.DecimalField(min_value=0, required=False, label="Pessimistic")
    status = forms.ChoiceField(choices=Ticket.Status.choices, initial=Ticket.Status.BACKLOG)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), required=False, help_text="Markdown"
    )
    sprint = forms.ModelChoiceField(
        queryset=Sprint.objects.exclude(state=Sprint.State.CLOSED).order_by("start_date"),
        required=False,
        empty_label="Backlog (no sprint)",
    )
    assignee = forms.CharField(required=False)
    parent = forms.CharField(required=False)

    def __init__(self, *args, teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        if teams is not None:
            self.fields["team"].queryset = teams

    def clean_assignee(self):
        name = (self.cleaned_data.get("assignee") or "").strip()
        if not name:
            return None
        user = User.objects.filter(username=name, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"There is no active person {name}.")
        return user

    def clean_parent(self):
        return _ticket_by_key(self.cleaned_data.get("parent"))

    def keys(self, name: str) -> list[str]:
        return [k.strip().upper() for k in self.data.getlist(name) if k.strip()]

    def clean(self):
        data = super().clean()
        low, high = data.get("size_low"), data.get("size_high")
        if (low is None) != (high is None):
            self.add_error("size_high", "Give both ends of the range, or neither.")
        elif low is not None and low > high:
            self.add_error("size_high", "The pessimistic size must be at least the optimistic.")
        return data


class CommentForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Markdown; @username to mention"}),
        max_length=10_000,
        label="Comment",
    )
