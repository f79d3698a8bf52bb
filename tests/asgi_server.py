"""How the tests start the app the way production serves it (uvicorn, ASGI): one command,
shared by the browser test of live updates and the stream's integration test."""

import sys


def uvicorn_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "sprintplan.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--lifespan",
        "off",
        "--timeout-graceful-shutdown",
        "1",
    ]
