"""Factories build rows directly for test setup; behaviour under test goes through services."""

from datetime import date, timedelta
from decimal import Decimal

import factory

from accounts.models import User
from sprints.models import Sprint
from teams.models import Membership, Team
from tickets.models import Ticket


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    product_role = User.ProductRole.TEAM
    password = factory.django.Password("pw-for-tests-1")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    key_prefix = factory.Sequence(lambda n: f"T{n}")
    kind = Team.Kind.OTHER
    unit = Team.Unit.POINTS
    default_rate = Decimal("1")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    role = Membership.Role.MEMBER


class SprintFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sprint

    name = factory.Sequence(lambda n: f"Sprint {n}")
    start_date = factory.LazyFunction(date.today)
    end_date = factory.LazyAttribute(lambda s: s.start_date + timedelta(days=13))
    state = Sprint.State.ACTIVE


class TicketFactory(factory.django.DjangoModelFactory):
    """A ticket row with a proper key; links and changes in tests go through services."""

    class Meta:
        model = Ticket

    team = factory.SubFactory(TeamFactory)
    title = factory.Sequence(lambda n: f"Ticket {n}")
    size = Decimal("5")
    progress = Decimal("0")
    status = Ticket.Status.TODO
    rank = factory.Sequence(lambda n: (n + 1) * 1024)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        team = kwargs["team"]
        number = team.next_ticket_number
        Team.objects.filter(pk=team.pk).update(next_ticket_number=number + 1)
        team.next_ticket_number = number + 1
        kwargs.setdefault("number", number)
        kwargs.setdefault("key", f"{team.key_prefix}-{number}")
        return super()._create(model_class, *args, **kwargs)
