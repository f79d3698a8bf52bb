"""Page input for teams, people and memberships; services decide."""

from django import forms

from accounts.models import User
from accounts.services import PERSON_ROLES
from teams.models import Membership, Team

ROLE_CHOICES = [(role.value, role.label.split(" (")[0]) for role in PERSON_ROLES]


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100)
    key_prefix = forms.CharField(
        max_length=10, label="Key prefix", help_text="Ticket keys start with it, e.g. LAB-12."
    )
    kind = forms.ChoiceField(choices=Team.Kind.choices)
    unit = forms.ChoiceField(choices=Team.Unit.choices, label="Work measured in")
    unit_label = forms.CharField(
        max_length=30, required=False, label="Unit reads as", help_text='e.g. "images"'
    )
    default_rate = forms.DecimalField(
        min_value=0, max_digits=10, decimal_places=2, initial=1, label="Units per person-day"
    )
    wip_todo = forms.IntegerField(min_value=0, required=False, label="WIP limit: To do")
    wip_in_progress = forms.IntegerField(
        min_value=0, required=False, label="WIP limit: In progress"
    )
    wip_in_review = forms.IntegerField(min_value=0, required=False, label="WIP limit: In review")

    WIP_FIELDS = {
        "wip_todo": "todo",
        "wip_in_progress": "in_progress",
        "wip_in_review": "in_review",
    }

    def team_values(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k not in self.WIP_FIELDS}

    def wip_limits(self) -> dict:
        return {status: self.cleaned_data.get(name) for name, status in self.WIP_FIELDS.items()}


class PersonForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="What they log in with, e.g. ana.lopez")
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.CharField(max_length=254, required=False)
    product_role = forms.ChoiceField(choices=ROLE_CHOICES, initial="team", label="Role")
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"),
        required=False,
        label="Team",
        empty_label="No team yet",
    )
    team_role = forms.ChoiceField(
        choices=Membership.Role.choices, initial="member", label="In the team"
    )


class MembershipForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True)
        .exclude(product_role=User.ProductRole.INTEGRATION)
        .order_by("username"),
        label="Person",
        empty_label="Choose a person",
    )
    role = forms.ChoiceField(choices=Membership.Role.choices, initial="member")
    part_time_percent = forms.IntegerField(
        min_value=1, max_value=100, initial=100, label="Part time %"
    )


class PersonDetailsForm(forms.Form):
    """A person's name and e-mail, with the values the page showed (to refuse an edit made
    on top of someone else's unseen change)."""

    FIELDS = ("first_name", "last_name", "email")

    first_name = forms.CharField(max_length=150, required=False, label="First name")
    last_name = forms.CharField(max_length=150, required=False, label="Last name")
    email = forms.CharField(max_length=254, required=False, label="E-mail")
    seen_first_name = forms.CharField(required=False, widget=forms.HiddenInput)
    seen_last_name = forms.CharField(required=False, widget=forms.HiddenInput)
    seen_email = forms.CharField(required=False, widget=forms.HiddenInput)

    @classmethod
    def for_person(cls, person) -> "PersonDetailsForm":
        values = {name: getattr(person, name) for name in cls.FIELDS}
        return cls(initial={**values, **{f"seen_{k}": v for k, v in values.items()}})

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.FIELDS}

    def seen(self) -> dict:
        return {name: self.cleaned_data[f"seen_{name}"] for name in self.FIELDS}
