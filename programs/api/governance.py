"""Program API: governance area."""


def register(router) -> None:
    """Filled in as the area is built."""
