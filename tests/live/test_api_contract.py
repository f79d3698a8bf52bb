"""schemathesis over the whole OpenAPI of the running app (demo data): every operation, every
check, the fixed seed and bounded examples of schemathesis.toml. Any server error or any
answer that disagrees with the schema fails the run. Runs in both passes of `make test`."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_every_operation_conforms_to_the_schema_and_none_answers_5xx(live_app, tmp_path):
    token = live_app.token()
    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(ROOT / "schemathesis.toml"),
            "run",
            f"{live_app.url}/api/schema/",
            "--checks",
            "all",
            "--header",
            f"Authorization: Token {token}",
            "--no-color",
            "--wait-for-schema",
            "30",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-5_000:]
