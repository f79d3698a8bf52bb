"""The API's paging: ?page=N&page_size=M."""

from rest_framework import pagination
from rest_framework.exceptions import ValidationError

MAX_PAGE = 1_000_000


class PageNumberPagination(pagination.PageNumberPagination):
    """?page=N (from 1) &page_size=M (1..max_page_size, default PAGE_SIZE). A value out of
    those ranges is a 400 naming it; a page past the end is a 404."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        for name, upper in self._limits().items():
            raw = request.query_params.get(name)
            if raw is not None and not (raw.isdigit() and 0 < int(raw) <= upper):
                raise ValidationError({name: [f"Give a whole number from 1 to {upper}."]})
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        limits = self._limits()
        for parameter in parameters:
            schema = parameter.setdefault("schema", {})
            schema.update(minimum=1, maximum=limits[parameter["name"]])
        return parameters

    def _limits(self) -> dict[str, int]:
        return {self.page_query_param: MAX_PAGE, self.page_size_query_param: self.max_page_size}
