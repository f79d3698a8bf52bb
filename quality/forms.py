"""Forms of the Definition of Done page. They only parse input: quality.services decides
(a metric without a threshold, an unknown kind, a duplicate code...) and its errors come
back beside the field."""

import re

from django import forms

from teams.models import Team
from tickets.models import Ticket

from .models import ARTIFACT_KINDS, Artifact, Criterion

ARTIFACT_CHOICES = [(kind, Artifact.Kind(kind).label) for kind in ARTIFACT_KINDS]
# quality.services names a criterion's field "criteria[<index>].<name>".
SERVICE_FIELD = re.compile(r"^criteria\[(?P<index>\d+)\]\.(?P<name>\w+)$")


class SeenVersionForm(forms.Form):
    """The DoD version the page showed: a change made on an older page is refused."""

    seen_version = forms.IntegerField(min_value=0, widget=forms.HiddenInput)


class CriterionForm(SeenVersionForm):
    text = forms.CharField(
        max_length=200,
        label="Criterion",
        widget=forms.TextInput(attrs={"placeholder": "e.g. Inter-annotator agreement ≥ 0.98"}),
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), label="Owning team", empty_label="Choose a team"
    )
    kind = forms.ChoiceField(choices=Criterion.Kind.choices, label="Kind")
    metric_key = forms.CharField(
        max_length=100,
        required=False,
        label="Metric key",
        widget=forms.TextInput(attrs={"placeholder": "e.g. iaa", "autocomplete": "off"}),
    )
    comparator = forms.ChoiceField(
        choices=[("", "—"), *Criterion.Comparator.choices], required=False, label="Comparator"
    )
    # Text, not a number field: the service parses it and says what is wrong.
    threshold = forms.CharField(
        max_length=40,
        required=False,
        label="Threshold",
        widget=forms.TextInput(attrs={"placeholder": "e.g. 0.98", "inputmode": "decimal"}),
    )
    ticket_types = forms.MultipleChoiceField(
        choices=Ticket.Type.choices,
        required=False,
        label="Ticket types (none ticked: every type)",
        widget=forms.CheckboxSelectMultiple,
    )
    team_kinds = forms.MultipleChoiceField(
        choices=Team.Kind.choices,
        required=False,
        label="Team kinds (none ticked: every team)",
        widget=forms.CheckboxSelectMultiple,
    )
    required_artifacts = forms.MultipleChoiceField(
        choices=ARTIFACT_CHOICES,
        required=False,
        label="Manual check also passes once these artifacts are recorded",
        widget=forms.CheckboxSelectMultiple,
    )
    goal_level = forms.BooleanField(
        required=False, label="Goal level (judged once per sprint goal, not per ticket)"
    )
    entry_gate = forms.BooleanField(
        required=False, label="Entry gate (tickets it blocks may not start until it passes)"
    )
    note = forms.CharField(
        max_length=500,
        required=False,
        label="Note for the version history (optional)",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.order_by("name")

    def criterion(self) -> dict:
        """The new criterion, in the shape quality.services.definition_revise takes."""
        data = self.cleaned_data
        return {
            "text": data["text"],
            "team": data["team"],
            "kind": data["kind"],
            "metric_key": data["metric_key"],
            "comparator": data["comparator"],
            "threshold": data["threshold"].strip() or None,
            "ticket_types": data["ticket_types"],
            "team_kinds": data["team_kinds"],
            "required_artifacts": data["required_artifacts"],
            "goal_level": data["goal_level"],
            "entry_gate": data["entry_gate"],
        }

    def add_service_error(self, error, new_index: int) -> None:
        """Put a service error beside the field it names (the new criterion's fields only);
        anything else is shown above the form."""
        field = error.field or ""
        match = SERVICE_FIELD.match(field)
        if match and int(match["index"]) == new_index:
            field = match["name"]
        elif field == "criteria" and "unique" in error.message:
            field = "text"  # the code is derived from the text
        self.add_error(field if field in self.fields else None, error.message)
