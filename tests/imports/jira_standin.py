"""A loopback stand-in for a Jira site, serving the shared fixture responses page by page.

Issues come from DevLake's raw dumps (one issue per row), changelog pages from the
changelog dump (one history per row), sprints from the sprint dump. The first search request
answers 429 with Retry-After, as a busy Cloud site does.
"""

import csv
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

csv.field_size_limit(1 << 30)

FIELDS = [
    {"id": "summary", "name": "Summary", "schema": {"type": "string"}},
    {
        "id": "customfield_10020",
        "name": "Sprint",
        "schema": {"custom": "com.pyxis.greenhopper.jira:gh-sprint"},
    },
    {
        "id": "customfield_10024",
        "name": "Story Points",
        "schema": {"custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"},
    },
]
LINK_TYPES = [
    {"id": "10000", "name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
    {"id": "10001", "name": "Cloners", "inward": "is cloned by", "outward": "clones"},
    {"id": "10002", "name": "Duplicate", "inward": "is duplicated by", "outward": "duplicates"},
    {"id": "10003", "name": "Relates", "inward": "relates to", "outward": "relates to"},
]


def raw_rows(path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(row["data"]) for row in csv.DictReader(handle)]


def changelog_rows(path) -> dict[str, list[dict]]:
    pages: dict[str, list[dict]] = {}
    with open(path, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            issue_id = row["url"].split("/issue/")[1].split("/")[0]
            pages.setdefault(issue_id, []).append(json.loads(row["data"]))
    return pages


class StandIn:
    def __init__(
        self,
        *,
        issues,
        changelogs=None,
        sprints=None,
        page_size=2,
        changelog_page=50,
        fail_status=0,
        first_429=True,
    ):
        self.issues = issues
        self.changelogs = changelogs or {}
        self.sprints = sprints or []
        self.page_size = page_size
        self.changelog_page = changelog_page
        self.fail_status = fail_status
        self.pending_429 = first_429
        self.paths: list[str] = []
        self.auth: set[str] = set()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                parsed = urllib.parse.urlparse(self.path)
                query = dict(urllib.parse.parse_qsl(parsed.query))
                standin.paths.append(parsed.path)
                standin.auth.add(self.headers.get("Authorization", ""))
                if standin.fail_status:
                    return self._send(standin.fail_status, {"errorMessages": ["no"]})
                status, body, headers = standin.answer(parsed.path, query)
                self._send(status, body, headers)

            def _send(self, status, body, headers=None):
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def answer(self, path, query):
        if path.endswith("/myself"):
            return 200, {"displayName": "Importer"}, {}
        if path == "/rest/api/2/field":
            return 200, FIELDS, {}
        if path == "/rest/api/2/issueLinkType":
            return 200, {"issueLinkTypes": LINK_TYPES}, {}
        if path == "/rest/api/3/search/jql":
            if self.pending_429:
                self.pending_429 = False
                return 429, {"errorMessages": ["Rate limit exceeded"]}, {"Retry-After": "3"}
            start = int(query.get("nextPageToken") or 0)
            page = self.issues[start : start + self.page_size]
            following = start + self.page_size
            more = following < len(self.issues)
            body = {"issues": page, "isLast": not more}
            if more:
                body["nextPageToken"] = str(following)
            return 200, body, {}
        if path == "/rest/api/2/search":
            start = int(query.get("startAt") or 0)
            page = self.issues[start : start + self.page_size]
            return (
                200,
                {
                    "startAt": start,
                    "maxResults": self.page_size,
                    "total": len(self.issues),
                    "issues": page,
                },
                {},
            )
        if "/changelog" in path:
            issue_id = path.split("/issue/")[1].split("/")[0]
            values = self.changelogs.get(issue_id, [])
            start = int(query.get("startAt") or 0)
            page = values[start : start + self.changelog_page]
            return (
                200,
                {
                    "startAt": start,
                    "total": len(values),
                    "values": page,
                    "isLast": start + len(page) >= len(values),
                },
                {},
            )
        if path == "/rest/agile/1.0/board":
            return 200, {"values": [{"id": 8, "type": "scrum"}], "isLast": True}, {}
        if path == "/rest/agile/1.0/board/8/sprint":
            start = int(query.get("startAt") or 0)
            page = self.sprints[start : start + 10]
            return 200, {"values": page, "isLast": start + len(page) >= len(self.sprints)}, {}
        if path == "/rest/agile/1.0/board/8/configuration":
            return 200, {"estimation": {"field": {"fieldId": "customfield_10024"}}}, {}
        return 404, {"errorMessages": ["not here"]}, {}
