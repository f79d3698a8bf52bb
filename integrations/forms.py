"""Forms of the integrations page. They parse input; integrations.services decides and its
errors come back beside the field."""

from django import forms

from teams.models import Team
from tickets.models import Ticket

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


class IntegrationEditForm(forms.Form):
    """Name and, per kind, the settings that can be corrected after creation."""

    name = forms.CharField(max_length=100, label="Name")
    tracking_uri = forms.CharField(max_length=500, required=False, label="MLflow tracking URI")
    wandb_api_url = forms.CharField(max_length=500, required=False, label="W&B API URL")
    wandb_api_key = forms.CharField(
        max_length=200,
        required=False,
        label="W&B API key (leave empty to keep the one set)",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, integration: Integration, **kwargs):
        super().__init__(*args, **kwargs)
        self.integration = integration
        kind = integration.kind
        if kind != Integration.Kind.MLFLOW:
            del self.fields["tracking_uri"]
        if kind != Integration.Kind.WANDB:
            del self.fields["wandb_api_url"]
            del self.fields["wandb_api_key"]
        self.auto_id = f"id_edit{integration.pk}_%s"

    @classmethod
    def for_integration(cls, integration: Integration) -> "IntegrationEditForm":
        config = integration.config or {}
        return cls(
            integration=integration,
            initial={
                "name": integration.name,
                "tracking_uri": config.get("tracking_uri", ""),
                "wandb_api_url": config.get("api_url", ""),
            },
        )

    def changes(self) -> dict:
        data = self.cleaned_data
        changes: dict = {"name": data["name"]}
        if "tracking_uri" in data:
            changes["config"] = {"tracking_uri": data["tracking_uri"].strip()}
        if "wandb_api_url" in data:
            changes["config"] = {
                "api_url": data["wandb_api_url"].strip(),
                "api_key": data["wandb_api_key"].strip(),
            }
        return changes

    def add_service_error(self, error) -> None:
        if error.field == "config":
            field = "tracking_uri" if "tracking_uri" in self.fields else "wandb_api_url"
        else:
            field = error.field
        self.add_error(field if field in self.fields else None, error.message)


class _TicketChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, ticket) -> str:
        return f"{ticket.key} {ticket.title}"


def _labeling_batches(integration: Integration):
    return (
        Ticket.objects.filter(team_id=integration.team_id, type=Ticket.Type.LABELING_BATCH)
        .exclude(status=Ticket.Status.DONE)
        .select_related("team")
        .order_by("key")
    )


class ProjectLinkForm(forms.Form):
    project_id = forms.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        label="Label Studio project id",
        help_text="The number in the project's address: /projects/2/…",
    )
    ticket = _TicketChoiceField(
        queryset=Ticket.objects.none(), label="Labeling batch", empty_label="Choose a ticket"
    )
    progress = forms.ChoiceField(
        choices=[
            ("keep", "Keep the progress entered by hand until Label Studio's count passes it"),
            ("replace", "Let Label Studio's count set the progress, also below it"),
        ],
        initial="keep",
        required=False,
        widget=forms.RadioSelect,
        label="Progress",
    )

    def __init__(self, *args, integration: Integration, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ticket"].queryset = _labeling_batches(integration)
        self.auto_id = f"id_link{integration.pk}_%s"

    def clean_progress(self) -> str:
        return self.cleaned_data.get("progress") or "keep"

    def add_service_error(self, error) -> None:
        field = error.field if error.field in self.fields else None
        self.add_error(field, error.message)


class DatasetLinkForm(forms.Form):
    dataset = forms.CharField(max_length=100, label="Prodigy dataset", help_text="As in db-out.")
    ticket = _TicketChoiceField(
        queryset=Ticket.objects.none(), label="Labeling batch", empty_label="Choose a ticket"
    )
    batch_size = forms.IntegerField(
        min_value=1,
        required=False,
        label="Examples in the batch",
        help_text="Leave empty when the team counts in items: the ticket's size is used.",
    )

    def __init__(self, *args, integration: Integration, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ticket"].queryset = _labeling_batches(integration)
        self.auto_id = f"id_dataset{integration.pk}_%s"

    def add_service_error(self, error) -> None:
        field = error.field if error.field in self.fields else None
        self.add_error(field, error.message)
