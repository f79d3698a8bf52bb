"""A small Jira REST reader (standard library only, no Django).

Cloud: Basic `email:api_token`, `/rest/api/3/search/jql` paged with `nextPageToken`.
Data Center: `Authorization: Bearer <personal access token>`, `/rest/api/2/search` paged with
`startAt`/`total`. Both: fields by name from `/rest/api/2/field`, link types, the full
changelog page by page when the embedded one is capped, and the agile boards' sprints.

Only the site address the Scrum master entered is contacted: every request is that address
plus a fixed path, `self` links in answers are never followed, and redirects are refused.
A 429 (or 503) waits as `Retry-After` says (else backs off exponentially), up to a cap.
"""

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

PAGE_SIZE = 100
CHANGELOG_PAGE = 100
MAX_RETRIES = 6
MAX_WAIT_SECONDS = 60.0


class JiraError(Exception):
    def __init__(self, message: str, *, status: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise JiraError(
            f"The Jira site answered with a redirect to {newurl}; enter that address instead.",
            status=code,
        )


class JiraClient:
    def __init__(
        self,
        base_url: str,
        *,
        kind: str,
        user: str = "",
        token: str = "",
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.kind = kind  # "cloud" or "dc"
        self.sleep = sleep
        self.timeout = timeout
        self.requests = 0
        self.waited = 0.0
        if kind == "cloud":
            raw = f"{user}:{token}".encode()
            self._auth = "Basic " + base64.b64encode(raw).decode()
        else:
            self._auth = f"Bearer {token}"
        self._opener = urllib.request.build_opener(_NoRedirect)

    # --- transport -------------------------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})
        url = f"{self.base_url}{path}" + (f"?{query}" if query else "")
        for attempt in range(MAX_RETRIES + 1):
            request = urllib.request.Request(
                url, headers={"Authorization": self._auth, "Accept": "application/json"}
            )
            self.requests += 1
            try:
                with self._opener.open(request, timeout=self.timeout) as answer:
                    return json.loads(answer.read().decode("utf-8"))
            except urllib.error.HTTPError as error:
                if error.code in (429, 503) and attempt < MAX_RETRIES:
                    wait = _retry_after(error.headers.get("Retry-After"), attempt)
                    self.waited += wait
                    self.sleep(wait)
                    continue
                raise JiraError(_message(error.code, path), status=error.code) from None
            except (urllib.error.URLError, TimeoutError, OSError) as error:
                reason = getattr(error, "reason", error)
                raise JiraError(
                    f"The Jira site {self.base_url} could not be reached ({reason})."
                ) from None
            except json.JSONDecodeError:
                raise JiraError(
                    f"The Jira site answered {path} with something that is not JSON."
                ) from None
        raise JiraError(
            "The Jira site kept asking to slow down (429); try again later.", status=429
        )

    # --- reads -------------------------------------------------------------------------------

    def check(self) -> dict:
        """Who we are on the site: fails early with a clear message on 401/403/404."""
        return self.get(f"/rest/api/{self._version}/myself")

    @property
    def _version(self) -> str:
        return "3" if self.kind == "cloud" else "2"

    def fields(self) -> list[dict]:
        return self.get("/rest/api/2/field")

    def link_types(self) -> list[dict]:
        return (self.get("/rest/api/2/issueLinkType") or {}).get("issueLinkTypes", [])

    def search(self, jql: str, on_page: Callable[[int], None] | None = None) -> list[dict]:
        """Every issue of the query with all fields and the embedded changelog, page by page."""
        issues: list[dict] = []
        params = {"jql": jql, "fields": "*all", "expand": "changelog", "maxResults": PAGE_SIZE}
        if self.kind == "cloud":
            token = None
            while True:
                page = self.get("/rest/api/3/search/jql", {**params, "nextPageToken": token})
                issues += page.get("issues", [])
                if on_page:
                    on_page(len(issues))
                token = page.get("nextPageToken")
                if page.get("isLast", token is None) or not token:
                    return issues
        start = 0
        while True:
            page = self.get("/rest/api/2/search", {**params, "startAt": start})
            batch = page.get("issues", [])
            issues += batch
            if on_page:
                on_page(len(issues))
            start += len(batch)
            if not batch or start >= int(page.get("total", 0)):
                return issues

    def changelog(self, issue_id: str) -> list[dict]:
        """The whole history of one issue, oldest first (the embedded one is capped)."""
        histories: list[dict] = []
        start = 0
        while True:
            page = self.get(
                f"/rest/api/{self._version}/issue/{issue_id}/changelog",
                {"startAt": start, "maxResults": CHANGELOG_PAGE},
            )
            values = page.get("values", [])
            histories += values
            start += len(values)
            if page.get("isLast", True) or not values or start >= int(page.get("total", 0)):
                return histories

    def boards(self, project: str) -> list[dict]:
        return self._all_values("/rest/agile/1.0/board", {"projectKeyOrId": project})

    def board_sprints(self, board_id: int) -> list[dict]:
        return self._all_values(
            f"/rest/agile/1.0/board/{int(board_id)}/sprint", {"state": "active,future,closed"}
        )

    def board_estimation_field(self, board_id: int) -> str:
        config = self.get(f"/rest/agile/1.0/board/{int(board_id)}/configuration")
        return (((config.get("estimation") or {}).get("field")) or {}).get("fieldId", "")

    def _all_values(self, path: str, params: dict) -> list[dict]:
        values: list[dict] = []
        start = 0
        while True:
            page = self.get(path, {**params, "startAt": start, "maxResults": 50})
            batch = page.get("values", [])
            values += batch
            start += len(batch)
            if page.get("isLast", True) or not batch:
                return values

    def fetch(self, jql: str, on_progress: Callable[[str, int], None] | None = None) -> dict:
        """Everything an import needs, as plain JSON-able data."""
        self.check()
        fields = self.fields()
        link_types = self.link_types()
        issues = self.search(jql, (lambda n: on_progress("issues", n)) if on_progress else None)
        changelogs = {}
        for issue in issues:
            embedded = issue.get("changelog") or {}
            if int(embedded.get("total", 0)) > len(embedded.get("histories") or []):
                changelogs[str(issue["id"])] = self.changelog(str(issue["id"]))
        sprints, estimation = self._sprints(issues)
        return {
            "kind": self.kind,
            "fields": fields,
            "link_types": link_types,
            "issues": issues,
            "changelogs": changelogs,
            "sprints": sprints,
            "estimation_field": estimation,
        }

    def _sprints(self, issues: list[dict]) -> tuple[list[dict], str]:
        projects = sorted({i["key"].rsplit("-", 1)[0] for i in issues if i.get("key")})
        sprints: dict[int, dict] = {}
        estimation = ""
        for project in projects:
            try:
                boards = self.boards(project)
            except JiraError as error:
                if error.status in (400, 404):  # Jira without Software: no boards, no sprints
                    continue
                raise
            for board in boards:
                if board.get("type") == "kanban":
                    continue
                for sprint in self.board_sprints(board["id"]):
                    sprints.setdefault(int(sprint["id"]), sprint)
                if not estimation:
                    try:
                        estimation = self.board_estimation_field(board["id"])
                    except JiraError:
                        estimation = ""
        return list(sprints.values()), estimation


def _retry_after(header: str | None, attempt: int) -> float:
    try:
        wait = float(header) if header else 2.0**attempt
    except ValueError:
        wait = 2.0**attempt
    return min(max(wait, 0.0), MAX_WAIT_SECONDS)


def _message(status: int, path: str) -> str:
    if status == 401:
        return (
            "Jira refused the credentials (401): check the e-mail and API token "
            "(Cloud) or the personal access token (Data Center)."
        )
    if status == 403:
        return (
            "Jira says this account may not read that (403): it needs browse rights on the project."
        )
    if status == 404:
        return f"Jira has no {path} at this address (404): check the site address."
    if status == 410:
        return f"Jira no longer offers {path} (410 Gone)."
    return f"Jira answered {status} for {path}."
