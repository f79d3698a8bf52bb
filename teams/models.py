from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

KEY_PREFIX_PATTERN = r"^[A-Z][A-Z0-9]{0,9}$"


class Team(models.Model):
    class Kind(models.TextChoices):
        ML = "ml", "ML engineering"
        LABELING = "labeling", "Data labeling"
        QA = "qa", "QA"
        OTHER = "other", "Other"

    class Unit(models.TextChoices):
        POINTS = "points", "Story points"
        ITEMS = "items", "Items"
        HOURS = "hours", "Hours"

    name = models.CharField(max_length=100, unique=True)
    key_prefix = models.CharField(
        max_length=10,
        unique=True,
        validators=[
            RegexValidator(KEY_PREFIX_PATTERN, "Use 1-10 capital letters or digits, e.g. LAB.")
        ],
        help_text="Ticket keys of this team start with it, e.g. LAB-12.",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OTHER)
    unit = models.CharField(max_length=10, choices=Unit.choices, default=Unit.POINTS)
    unit_label = models.CharField(
        max_length=30, blank=True, help_text='How the unit reads on screen, e.g. "images".'
    )
    default_rate = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Units one person completes per working day.",
    )
    # Work-in-progress limits of the team board, by ticket status: {"in_progress": 3}.
    # A warning, not a wall: a column over its limit is marked, moves still succeed.
    wip_limits = models.JSONField(
        default=dict, blank=True, help_text='Per status, e.g. {"in_progress": 3, "in_review": 2}.'
    )
    # Keys are never reused: the counter only grows, even when tickets are deleted.
    next_ticket_number = models.PositiveIntegerField(default=1, editable=False)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(default_rate__gte=0), name="team_rate_gte_0"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["ml", "labeling", "qa", "other"]),
                name="team_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(unit__in=["points", "items", "hours"]), name="team_unit_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(next_ticket_number__gte=1), name="team_next_number_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def unit_display(self) -> str:
        return self.unit_label or self.get_unit_display().lower()


class MembershipQuerySet(models.QuerySet):
    def people(self) -> "MembershipQuerySet":
        """Memberships of people: an integration's service user is a member of the team it
        feeds (for its rights) but brings no capacity and takes no tickets."""
        return self.exclude(user__product_role="integration")


class Membership(models.Model):
    class Role(models.TextChoices):
        LEAD = "lead", "Lead"
        MEMBER = "member", "Member"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    # The share of a working week the person gives this team; a new sprint's capacity rows
    # start from it (the sprint's own availability row can still differ).
    part_time_percent = models.PositiveSmallIntegerField(default=100)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["team__name", "role", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="membership_unique_user_team"),
            models.CheckConstraint(
                condition=models.Q(role__in=["lead", "member"]), name="membership_role_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(part_time_percent__gte=1, part_time_percent__lte=100),
                name="membership_part_time_1_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}, {self.team})"
