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

    wandb_api_url = forms.CharField(
        max_length=500,
        required=False,
        label="W&B API URL (W&B only, to read run summaries)",
        widget=forms.TextInput(attrs={"placeholder": "https://api.wandb.ai", "inputmode": "url"}),
    )
    wandb_api_key = forms.CharField(
        max_length=200,
        required=False,
        label="W&B API key (W&B only)",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.order_by("name")

    def config(self) -> dict:
        """MLflow: the tracking server runs are read from; W&B: where run summaries are read."""
        kind = self.cleaned_data["kind"]
        if kind == Integration.Kind.MLFLOW:
            return {"tracking_uri": self.cleaned_data["tracking_uri"].strip()}
        if kind == Integration.Kind.WANDB:
            return {
                "api_url": self.cleaned_data["wandb_api_url"].strip(),
                "api_key": self.cleaned_data["wandb_api_key"].strip(),
            }
        return {}

    def add_service_error(self, error) -> None:
        if error.field == "config":
            kind = self.cleaned_data.get("kind")
            field = "wandb_api_url" if kind == Integration.Kind.WANDB else "tracking_uri"
        else:
            field = error.field
        self.add_error(field if field in self.fields else None, error.message)
