"""Forms parse page input; services decide. Field errors come back beside the field."""

from django import forms

from accounts.models import User
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
        self.fields["assignee"].queryset = User.objects.filter(teams=ticket.team).order_by(
            "username"
        )
        for name, field in self.fields.items():
            if name not in {"version", "override_reason"} and name not in editable:
                field.disabled = True

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
