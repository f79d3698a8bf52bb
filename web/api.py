import logging

from django.db import DatabaseError
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api import UserRefField
from sprintplan.api import (
    ErrorSerializer,
    RetryTransientDatabaseErrors,
    StrictModelSerializer,
    StrictSerializer,
)
from sprintplan.errors import InvalidInput
from sprintplan.limits import DESCRIPTION_MAX
from sprints.models import Sprint
from teams.api import TeamRefField
from tickets import services
from tickets.filters import TicketFilter
from tickets.markdown import render as render_markdown
from tickets.models import Comment, Ticket, TicketEvent
from tickets.presenters import history_sentence
from web.selectors import tickets as selectors

logger = logging.getLogger(__name__)


class InsightSerializer(StrictSerializer):
    blocked = serializers.BooleanField()
    direct_blockers = serializers.SerializerMethodField()
    root_blockers = serializers.SerializerMethodField()
    depth = serializers.IntegerField()
    downstream_count = serializers.IntegerField()
    cross_team = serializers.BooleanField()
    graph_version = serializers.IntegerField()
    computed_at = serializers.DateTimeField()

    def _keys(self, ids) -> list[str]:
        keys = self.context.get("keys", {})
        return [keys.get(ticket_id, str(ticket_id)) for ticket_id in ids]

    def get_direct_blockers(self, insight) -> list[str]:
        return self._keys(insight.direct_blocker_ids)

    def get_root_blockers(self, insight) -> list[str]:
        return self._keys(insight.root_blocker_ids)


class TicketSerializer(StrictModelSerializer):
    """Output shape of a ticket, with its derived insight (null until first computed)."""

    team_prefix = serializers.CharField(source="team.key_prefix", read_only=True)
    unit = serializers.CharField(source="team.unit_display", read_only=True)
    parent = serializers.SlugRelatedField(slug_field="key", read_only=True)
    assignee_username = serializers.CharField(
        source="assignee.username", read_only=True, default=None
    )
    insight = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "id",
            "key",
            "team",
            "team_prefix",
            "title",
            "description",
            "type",
            "status",
            "size",
            "progress",
            "unit",
            "sprint",
            "parent",
            "rank",
            "assignee",
            "assignee_username",
            "archived_at",
            "version",
            "created_at",
            "updated_at",
            "insight",
        ]
        read_only_fields = fields

    def get_insight(self, ticket) -> dict | None:
        insight = getattr(ticket, "insight", None)
        if insight is None:
            return None
        return InsightSerializer(insight, context=self.context).data


class StaleTicketSerializer(ErrorSerializer):
    """409: the version sent is not the current one; `current` is the ticket as it is now."""

    current = TicketSerializer()


class TicketWriteSerializer(StrictSerializer):
    """Input of create and partial update. Unknown ids are refused with the field named."""

    output_serializer = TicketSerializer

    team = TeamRefField(help_text='Key prefix, e.g. "LAB" (a numeric id is accepted too).')
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(
        max_length=DESCRIPTION_MAX, required=False, allow_blank=True
    )
    type = serializers.ChoiceField(choices=Ticket.Type.choices, required=False)
    status = serializers.ChoiceField(choices=Ticket.Status.choices, required=False)
    size = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    progress = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False
    )
    sprint = serializers.PrimaryKeyRelatedField(
        queryset=Sprint.objects.all(), required=False, allow_null=True
    )
    parent = serializers.SlugRelatedField(
        slug_field="key", queryset=Ticket.objects.all(), required=False, allow_null=True
    )
    assignee = UserRefField(
        required=False, allow_null=True, help_text="Username (a numeric id is accepted too)."
    )
    rank = serializers.IntegerField(required=False)
    version = serializers.IntegerField(
        required=False, help_text="Required on update: the version you last read."
    )
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="Scrum master or PO: close the ticket although unfinished work is upstream.",
    )


class TicketVersionSerializer(StrictSerializer):
    version = serializers.IntegerField(help_text="The version you last read.")


class CommentInputSerializer(StrictSerializer):
    body = serializers.CharField(max_length=10_000, help_text="Markdown; @username mentions.")


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", default=None)
    author_name = serializers.CharField(source="author.display_name", default=None)
    html = serializers.SerializerMethodField()
    mentions = serializers.SerializerMethodField()

    class Meta:
        model = Comment
        fields = [
            "id",
            "author",
            "author_name",
            "body",
            "html",
            "mentions",
            "created_at",
            "edited_at",
        ]

    def get_html(self, comment) -> str:
        return render_markdown(comment.body)

    def get_mentions(self, comment) -> list[str]:
        return sorted(user.username for user in comment.mentions.all())


class HistorySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None)
    actor_name = serializers.CharField(source="actor.display_name", default=None)
    text = serializers.SerializerMethodField()

    class Meta:
        model = TicketEvent
        fields = ["at", "actor", "actor_name", "field", "old_value", "new_value", "text"]

    def get_text(self, event) -> str:
        return history_sentence(event.field, event.old_value, event.new_value)


class ChainSideSerializer(StrictSerializer):
    tickets = serializers.ListField(child=serializers.DictField())
    links = serializers.ListField(child=serializers.DictField())


class ChainSerializer(StrictSerializer):
    """Upstream and downstream of one ticket, as ticket facts and links by key."""

    ticket = serializers.CharField(source="ticket.key")
    upstream = serializers.SerializerMethodField()
    downstream = serializers.SerializerMethodField()

    def _side(self, chain, links) -> dict:
        facts = chain.tickets
        ids = sorted(
            {i for pair in links for i in pair} - {chain.ticket.pk}, key=lambda i: facts[i]["key"]
        )
        return {
            "tickets": [
                {
                    "key": facts[i]["key"],
                    "title": facts[i]["title"],
                    "team": facts[i]["team__key_prefix"],
                    "status": facts[i]["status"],
                    "done": facts[i]["status"] == Ticket.Status.DONE,
                    "blocked": bool(facts[i]["insight__blocked"]),
                }
                for i in ids
            ],
            "links": [{"blocker": facts[a]["key"], "blocked": facts[b]["key"]} for a, b in links],
        }

    @extend_schema_field(ChainSideSerializer)
    def get_upstream(self, chain) -> dict:
        return self._side(chain, chain.upstream_links)

    @extend_schema_field(ChainSideSerializer)
    def get_downstream(self, chain) -> dict:
        return self._side(chain, chain.downstream_links)


# What TicketSerializer reads beyond the ticket's own row and its team (the sprint it shows
# by id only).
ANSWER_RELATIONS = ("parent", "assignee", "insight")


class TicketViewSet(
    RetryTransientDatabaseErrors,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    lookup_field = "key"
    lookup_value_regex = "[A-Za-z][A-Za-z0-9]*-[0-9]+"
    filterset_class = TicketFilter
    # delete: only a comment's (the ticket itself is archived, never deleted here)
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.ticket_queryset().order_by("rank", "id")

    def filter_queryset(self, queryset):
        # The filters narrow the list; one ticket named by its key is not a search (and
        # building the filter set costs a PATCH more than its SQL).
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def get_serializer_class(self):
        if self.action in {"create", "partial_update"}:
            return TicketWriteSerializer
        return TicketSerializer

    def _output(self, tickets, *, many: bool) -> dict | list:
        rows = tickets if many else [tickets]
        context = {**self.get_serializer_context(), "keys": selectors.keys_for_insights(rows)}
        return TicketSerializer(tickets, many=many, context=context).data

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        if "archived" not in request.query_params:
            queryset = queryset.filter(archived_at__isnull=True)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self._output(page, many=True))

    def retrieve(self, request, *args, **kwargs):
        return Response(self._output(self.get_object(), many=False))

    @extend_schema(responses={201: TicketSerializer})
    def create(self, request, *args, **kwargs):
        serializer = TicketWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("version", None)
        data.pop("override_reason", None)
        ticket = services.ticket_create(actor=request.user, **data)
        ticket = self.get_queryset().get(pk=ticket.pk)
        return Response(self._output(ticket, many=False), status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: TicketSerializer, 409: StaleTicketSerializer})
    def partial_update(self, request, *args, **kwargs):
        serializer = TicketWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        version = changes.pop("version", None) or _if_match_version(request)
        override_reason = changes.pop("override_reason", "")
        if version is None:
            raise InvalidInput(
                "Send the version you last read (field 'version' or an If-Match header), so "
                "that a concurrent change is not overwritten.",
                code="version_required",
                field="version",
            )
        if "team" in changes:
            raise InvalidInput("A ticket cannot move to another team.", field="team")
        try:
            # Read once, locked, by the key the URL names (with what the answer shows).
            ticket = services.ticket_update(
                key=self.kwargs[self.lookup_field],
                actor=request.user,
                changes=changes,
                expected_version=version,
                override_reason=override_reason,
                read_with=ANSWER_RELATIONS,
            )
        except Ticket.DoesNotExist:
            raise Http404 from None
        try:
            body = self._output(ticket, many=False)
        except DatabaseError:
            # The update is committed; only reading the keys its insight names failed.
            # Answer with what was written.
            logger.warning("Answering %s after its update failed.", ticket.key, exc_info=True)
            body = _as_written(ticket)
        return Response(body)

    @extend_schema(responses={200: ChainSerializer})
    @action(detail=True, methods=["get"])
    def chain(self, request, key=None):
        """Everything this ticket waits on (upstream) and everything waiting on it."""
        chain = selectors.ticket_chain(self.get_object())
        return Response(ChainSerializer(chain).data)

    def stale_current(self, current) -> dict:
        """A stale edit's 409 carries the ticket as it is now (the API's exception handler)."""
        return self._output(self.get_queryset().get(pk=current.pk), many=False)

    def update(self, request, *args, **kwargs):
        if not kwargs.get("partial"):
            return Response(
                {"code": "method_not_allowed", "detail": "Use PATCH with the fields to change."},
                status=status.HTTP_405_METHOD_NOT_ALLOWED,
            )
        return self.partial_update(request, *args, **kwargs)

    # --- archive, comments, history ---------------------------------------------------------

    def _versioned(self, request) -> int:
        version = request.data.get("version") or _if_match_version(request)
        if version in (None, "") or not str(version).isdigit():
            raise InvalidInput(
                "Send the version you last read (field 'version' or an If-Match header).",
                code="version_required",
                field="version",
            )
        return int(version)

    def _archive_step(self, request, step):
        ticket = self.get_object()
        ticket = step(actor=request.user, ticket=ticket, expected_version=self._versioned(request))
        return Response(self._output(self.get_queryset().get(pk=ticket.pk), many=False))

    @extend_schema(request=TicketVersionSerializer, responses={200: TicketSerializer})
    @action(detail=True, methods=["post"])
    def archive(self, request, key=None):
        """Scrum master, PO or the team's lead: take the ticket out of boards, backlog and
        forecasts (it keeps its key and history). 409 when the version is stale."""
        return self._archive_step(request, services.ticket_archive)

    @extend_schema(request=TicketVersionSerializer, responses={200: TicketSerializer})
    @action(detail=True, methods=["post"])
    def restore(self, request, key=None):
        """Bring an archived ticket back into the backlog."""
        return self._archive_step(request, services.ticket_restore)

    # filters=False: the ticket list's filters do not narrow a ticket's comments or history
    @extend_schema(
        request=CommentInputSerializer,
        responses={200: CommentSerializer(many=True), 201: CommentSerializer},
        filters=False,
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def comments(self, request, key=None):
        """The ticket's comments, oldest first. POST `{"body": "..."}` adds one; `@username`
        mentions are resolved and stored."""
        ticket = self.get_object()
        if request.method == "POST":
            data = CommentInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            comment = services.comment_create(
                actor=request.user, ticket=ticket, body=data.validated_data["body"]
            )
            return Response(
                CommentSerializer(_comments().get(pk=comment.pk)).data,
                status=status.HTTP_201_CREATED,
            )
        return Response(CommentSerializer(_comments().filter(ticket=ticket), many=True).data)

    @extend_schema(request=CommentInputSerializer, responses={200: CommentSerializer})
    @action(detail=True, methods=["patch", "delete"], url_path=r"comments/(?P<comment_id>\d+)")
    def comment(self, request, key=None, comment_id=None):
        """Its author edits (PATCH `{"body"}`) or deletes a comment."""
        ticket = self.get_object()
        comment = get_object_or_404(_comments(), pk=comment_id, ticket=ticket)
        if request.method == "DELETE":
            services.comment_delete(actor=request.user, comment=comment)
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = CommentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.comment_update(
            actor=request.user, comment=comment, body=data.validated_data["body"]
        )
        return Response(CommentSerializer(_comments().get(pk=comment.pk)).data)

    @extend_schema(responses={200: HistorySerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], pagination_class=None)
    def history(self, request, key=None):
        """Every recorded change, oldest first, each with a sentence in words."""
        ticket = self.get_object()
        events = (
            TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("at", "id")
        )
        return Response(HistorySerializer(events, many=True).data)


def _comments():
    return Comment.objects.select_related("author").prefetch_related("mentions")


def _if_match_version(request) -> int | None:
    raw = request.headers.get("If-Match", "").strip().strip("W/").strip('"')
    return int(raw) if raw.isdigit() else None


def register(router) -> None:
    router.register("tickets", TicketViewSet, basename="ticket")


def _as_written(ticket) -> dict:
    """The ticket's response body from the saved instance alone (no query): its fields as
    written, related values only where already loaded; the derived insight is left out
    (null), as it cannot be read."""
    loaded = ticket._state.fields_cache
    team = loaded.get("team")
    parent = loaded.get("parent")
    return {
        "id": ticket.pk,
        "key": ticket.key,
        "team": ticket.team_id,
        "team_prefix": team.key_prefix if team else None,
        "title": ticket.title,
        "description": ticket.description,
        "type": ticket.type,
        "status": ticket.status,
        "size": ticket.size,
        "progress": ticket.progress,
        "unit": team.unit_display if team else None,
        "sprint": ticket.sprint_id,
        "parent": parent.key if parent else None,
        "rank": ticket.rank,
        "assignee": ticket.assignee_id,
        "version": ticket.version,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "insight": None,
    }
