"""Program pages, one module per area (board, governance, insight); urls in
programs/urls_<area>.py."""

from django.http import Http404


def not_built_yet(request, *args, **kwargs):
    """Scaffold while an area is being built: the route name exists, the page does not."""
    raise Http404("This program page is not built yet.")
