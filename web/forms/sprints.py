"""Page input for capacity adjustments and what-if previews; services decide."""

from django import forms

from teams.models import Team
from tickets.models import Ticket


class AdjustmentForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"))
    from_date = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    to_date = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    factor = forms.DecimalField(
        max_digits=6, decimal_places=3, help_text="0.5 = output halved; 0 = no output"
    )
    reason = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"size": 30}))


class WhatIfForm(forms.Form):
    """One or more proposed changes; each group of fields is all-or-nothing."""

    remove_ticket = forms.MultipleChoiceField(
        label="Take these tickets out of the sprint",
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
        help_text="Hold Ctrl (⌘ on a Mac) to pick several.",
    )
    size_ticket = forms.ChoiceField(label="Change the size of", required=False)
    new_size = forms.DecimalField(label="to (in the team's unit)", min_value=0, required=False)
    adjust_team = forms.ModelChoiceField(
        label="Change the capacity of team", queryset=Team.objects.order_by("name"), required=False
    )
    adjust_from = forms.DateField(
        label="from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    adjust_to = forms.DateField(
        label="until", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    adjust_factor = forms.DecimalField(
        label="output times (0.5 = half, 1.2 = a fifth more)",
        required=False,
        max_digits=6,
        decimal_places=3,
    )
    move_from = forms.ModelChoiceField(
        label="Lend people of team", queryset=Team.objects.order_by("name"), required=False
    )
    move_to = forms.ModelChoiceField(
        label="to team", queryset=Team.objects.order_by("name"), required=False
    )
    move_days = forms.DecimalField(
        label="person-days (over the rest of the sprint)", min_value=0, required=False
    )

    GROUPS = (
        ("size_ticket", "new_size"),
        ("adjust_team", "adjust_from", "adjust_to", "adjust_factor"),
        ("move_from", "move_to", "move_days"),
    )

    def __init__(self, *args, sprint, **kwargs):
        super().__init__(*args, **kwargs)
        keys = list(
            Ticket.objects.filter(sprint=sprint).order_by("key").values_list("key", "title")
        )
        choices = [(key, f"{key} {title}") for key, title in keys]
        self.fields["remove_ticket"].choices = choices
        self.fields["size_ticket"].choices = [("", "—"), *choices]

    def clean(self):
        data = super().clean()
        for group in self.GROUPS:
            given = [name for name in group if data.get(name) not in (None, "")]
            if given and len(given) != len(group):
                for name in group:
                    if name not in given:
                        self.add_error(name, "Needed with the other fields of this change.")
        if not any(data.get(name) not in (None, "", []) for name in self.fields):
            raise forms.ValidationError("Propose at least one change.")
        return data

    def proposal(self) -> dict:
        data = self.cleaned_data
        proposal: dict = {}
        if data.get("remove_ticket"):
            proposal["remove_tickets"] = list(data["remove_ticket"])
        if data.get("size_ticket"):
            proposal["change_size"] = {data["size_ticket"]: data["new_size"]}
        if data.get("adjust_team"):
            proposal["add_adjustments"] = [
                (data["adjust_team"], data["adjust_from"], data["adjust_to"], data["adjust_factor"])
            ]
        if data.get("move_from"):
            proposal["move_capacity"] = [(data["move_from"], data["move_to"], data["move_days"])]
        return proposal


class SprintForm(forms.Form):
    name = forms.CharField(max_length=100)
    start_date = forms.DateField(label="Starts", widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(label="Ends", widget=forms.DateInput(attrs={"type": "date"}))
    goal = forms.CharField(required=False, widget=forms.TextInput(attrs={"size": 40}))
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        label="Teams taking part",
        required=False,
        help_text="Only they get capacity, boards and forecasts in it (none ticked: every team).",
    )


class SprintEditForm(forms.Form):
    """Rename, re-date or re-goal a sprint, at the version the page showed."""

    name = forms.CharField(max_length=100)
    start_date = forms.DateField(label="Starts", widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(label="Ends", widget=forms.DateInput(attrs={"type": "date"}))
    goal = forms.CharField(
        label="Sprint goal",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The written goals the forecast judges live in the planning room.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    FIELDS = ("name", "start_date", "end_date", "goal")

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.FIELDS}
