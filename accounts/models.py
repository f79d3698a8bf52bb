from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


class SprintplanUserManager(UserManager):
    """`manage.py createsuperuser` makes the first Scrum master of a fresh install: a
    superuser without a product role would be refused every planning action."""

    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("product_role", "scrum_master")
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A person. Product-wide rights live here; team rights come from teams.Membership."""

    class ProductRole(models.TextChoices):
        SCRUM_MASTER = "scrum_master", "Scrum master"
        PRODUCT_OWNER = "product_owner", "Product Owner"
        TEAM = "team", "Team member (rights from team memberships)"
        VIEWER = "viewer", "Viewer (read only)"
        INTEGRATION = "integration", "Integration (feeds progress and evidence only)"

    product_role = models.CharField(
        max_length=20, choices=ProductRole.choices, default=ProductRole.TEAM
    )

    objects = SprintplanUserManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    product_role__in=[
                        "scrum_master",
                        "product_owner",
                        "team",
                        "viewer",
                        "integration",
                    ]
                ),
                name="user_product_role_valid",
            )
        ]

    @property
    def is_scrum_master(self) -> bool:
        return self.product_role == self.ProductRole.SCRUM_MASTER

    @property
    def is_product_owner(self) -> bool:
        return self.product_role == self.ProductRole.PRODUCT_OWNER

    @property
    def is_integration(self) -> bool:
        return self.product_role == self.ProductRole.INTEGRATION

    @property
    def is_viewer(self) -> bool:
        return self.product_role == self.ProductRole.VIEWER

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username
