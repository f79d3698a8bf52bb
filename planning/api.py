from rest_framework import mixins, serializers, viewsets

from . import services
from .models import Sprint


class SprintSerializer(serializers.ModelSerializer):
    class Meta:
        model = Sprint
        fields = ["id", "name", "start_date", "end_date", "state", "goal"]
        read_only_fields = ["id"]

    def validate(self, attrs):
        start = attrs.get("start_date", getattr(self.instance, "start_date", None))
        end = attrs.get("end_date", getattr(self.instance, "end_date", None))
        if start and end and start > end:
            raise serializers.ValidationError(
                {"end_date": f"The sprint cannot end ({end}) before it starts ({start})."}
            )
        return attrs


class SprintViewSet(
    mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    serializer_class = SprintSerializer
    queryset = Sprint.objects.order_by("start_date", "id")
    filterset_fields = ["state"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def perform_create(self, serializer):
        serializer.instance = services.sprint_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.sprint_update(
            actor=self.request.user, sprint=serializer.instance, changes=serializer.validated_data
        )
