"""Strict serializers build their fields once per class; each instance binds its own copies.
A copy that leaked between instances would validate or answer with another request's
parent and context, so these tests look at what the instances end up holding."""

from unittest import mock

from rest_framework import serializers

from sprintplan import api
from sprintplan.limits import SHORT_TEXT_MAX
from web.api import TicketSerializer


class Tags(api.StrictSerializer):
    name = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    note = serializers.CharField(max_length=10, required=False)


def test_each_instance_binds_its_own_fields_to_itself():
    first, second = Tags(), Tags()
    for name in ("name", "tags", "note"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first
        assert second.fields[name].parent is second
    # A child field belongs to its own list field, not to a template shared by all.
    assert first.fields["tags"].child.parent is first.fields["tags"]
    assert second.fields["tags"].child.parent is second.fields["tags"]


def test_fields_are_built_once_per_class_not_per_instance():
    api._FIELD_TEMPLATES.pop(TicketSerializer, None)
    build = serializers.ModelSerializer.get_fields
    with mock.patch.object(
        serializers.ModelSerializer, "get_fields", autospec=True, side_effect=build
    ) as built:
        assert "insight" in TicketSerializer().fields
        assert "insight" in TicketSerializer().fields
    assert built.call_count == 1


def test_text_limits_hold_on_every_instance_and_on_list_children():
    long_text = "x" * (SHORT_TEXT_MAX + 1)
    for _ in range(2):
        serializer = Tags(data={"name": long_text, "tags": [long_text], "note": "y" * 11})
        assert not serializer.is_valid()
        assert set(serializer.errors) == {"name", "tags", "note"}
    # The limit was added once to the shared validators, not once per instance.
    limits = [
        validator
        for validator in Tags().fields["name"].validators
        if getattr(validator, "limit_value", None) == SHORT_TEXT_MAX
    ]
    assert len(limits) == 1


def test_a_nested_answer_reads_the_context_of_its_own_request():
    class Insight:
        direct_blocker_ids = [7]
        root_blocker_ids = [7]
        blocked = True
        depth = 1
        downstream_count = 0
        cross_team = False
        graph_version = 1
        computed_at = None

    class Ticket:
        insight = Insight()

    def answer(keys):
        return TicketSerializer(context={"keys": keys}).get_insight(Ticket())["direct_blockers"]

    assert answer({7: "ML-7"}) == ["ML-7"]
    assert answer({7: "LAB-7"}) == ["LAB-7"]
