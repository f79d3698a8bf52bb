"""Program API: insight area."""


def register(router) -> None:
    """Filled in as the area is built."""
