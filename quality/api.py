def register(router) -> None:
    """This app's API endpoints are registered here (none yet)."""
