"""Page input of the team board. Forms only parse; the services judge (and word) the rules."""

from django import forms


class AdjustmentForm(forms.Form):
    """A capacity change of the board's team in the board's sprint: "x 0.5 from Tuesday,
    annotation tool bug". Kept as text: planning/services.py adjustment_create parses and
    validates every field, so its message (beside the field) is the one shown."""

    from_date = forms.CharField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    to_date = forms.CharField(
        label="To (inclusive)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    factor = forms.CharField(
        label="Factor",
        required=False,
        help_text="times normal output: 0.5 = halved; 0 = none; 1.2 = 20% more",
        widget=forms.NumberInput(attrs={"step": "any", "min": "0", "placeholder": "0.5"}),
    )
    reason = forms.CharField(
        label="Reason",
        required=False,
        widget=forms.TextInput(
            attrs={"size": 28, "maxlength": 200, "placeholder": "e.g. annotation tool bug"}
        ),
    )

    def values(self) -> dict:
        return {name: self.cleaned_data.get(name, "") for name in self.fields}
