"""Forms of the integrations page. They parse input; integrations.services decides and its
errors come back beside the field."""

from django import forms

from teams.models import Team

from .models import Integration


class IntegrationForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Name",
        widget=forms.TextInput(attrs={"placeholder": "e.g. Label Studio (cats project)"}),
    )
    kind = forms.ChoiceField(choices=Integration.Kind.choices, label="Kind")
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), label="Team it feeds", empty_label="Choose a team"
    )
    tracking_uri = forms.CharField(
        max_length=500,
        required=False,
        label="MLflow tracking URI (MLflow only)",
        widget=forms.TextInput(attrs={"placeholder": "http://mlflow:5000", "inputmode": "url"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.order_by("name")

    def config(self) -> dict:
        """Only MLflow has a configuration (the tracking server runs are read from)."""
        if self.cleaned_data["kind"] == Integration.Kind.MLFLOW:
            return {"tracking_uri": self.cleaned_data["tracking_uri"].strip()}
        return {}

    def add_service_error(self, error) -> None:
        field = "tracking_uri" if error.field == "config" else error.field
        self.add_error(field if field in self.fields else None, error.message)
