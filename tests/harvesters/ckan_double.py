"""A CKAN Action API double: a small HTTP server on 127.0.0.1 that answers the actions the
CKAN harvester calls from recorded responses (fixtures/ckan/, see its README), in CKAN's
envelope, and records every request it gets.

It behaves as CKAN 2.9+ does where the harvester depends on it: `package_search` honours
`rows`, `start`, `sort` and an `fq` on metadata_modified / organization, and shows private
datasets only to a caller with the API key who asks for them; `organization_list` and
`group_list` page with `limit`/`offset` and cap `all_fields` answers (25 by default).
Scripted failures (`fail`) answer a request with an error instead.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlparse

FIXTURES = Path(__file__).parent / "fixtures" / "ckan"
ACTION_PATH = re.compile(r"^/api(?:/3)?/action/(?P<action>[a-z_]+)$")
MODIFIED_RANGE = re.compile(r"metadata_modified:\[(?P<low>\S+) TO (?P<high>\S+)\]")
ORGANIZATION_FILTER = re.compile(r"organization:\((?P<names>[^)]*)\)|organization:(?P<one>\S+)")


@dataclass(frozen=True)
class Request:
    action: str
    method: str
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Failure:
    """Answer up to `times` requests for `action` (those `when` accepts) with `status`."""

    action: str
    times: int
    status: int
    body: str
    when: Callable[[dict[str, Any]], bool] | None = None


@dataclass
class CkanDouble:
    packages: list[dict[str, Any]]
    organizations: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    status: dict[str, Any]
    api_key: str = "test-token"
    all_fields_max: int = 25
    requests: list[Request] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @classmethod
    def recorded(cls, **kwargs: Any) -> CkanDouble:
        """A double serving the recorded responses in fixtures/ckan/."""
        return cls(
            packages=_result("package_search.json")["results"],
            organizations=_result("organization_list.json"),
            groups=_result("group_list.json"),
            status=_result("status_show.json"),
            **kwargs,
        )

    # --- lifecycle ---

    @property
    def url(self) -> str:
        assert self._server is not None, "start the double first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> CkanDouble:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        # A short poll interval makes stop() quick.
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> CkanDouble:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- scripting and inspection ---

    def fail(
        self,
        action: str,
        *,
        times: int,
        status: int = 503,
        error: dict[str, Any] | None = None,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Make the next `times` matching calls fail: a CKAN error envelope when `error` is
        given (e.g. {"__type": "Authorization Error", "message": "…"}), else the plain
        text page a proxy in front of CKAN answers with."""
        body = (
            json.dumps({"help": self._help(action), "success": False, "error": error})
            if error
            else "<html><body><h1>503 Service Unavailable</h1></body></html>"
        )
        self.failures.append(Failure(action, times, status, body, when))

    def calls(self, action: str) -> list[dict[str, Any]]:
        return [r.params for r in self.requests if r.action == action]

    # --- answering ---

    def answer(self, action: str, params: dict[str, Any]) -> tuple[int, str]:
        for failure in self.failures:
            wanted = failure.when is None or failure.when(params)
            if failure.action == action and failure.times > 0 and wanted:
                failure.times -= 1
                return failure.status, failure.body
        actions: dict[str, Callable[[dict[str, Any]], Any]] = {
            "package_search": self.package_search,
            "organization_list": lambda p: self._group_list(self.organizations, p),
            "group_list": lambda p: self._group_list(self.groups, p),
            "status_show": lambda _: self.status,
        }
        if action not in actions:
            error = {"__type": "Bad Request", "message": f"Action name not known: {action}"}
            return 400, json.dumps({"help": self._help(action), "success": False, "error": error})
        result = actions[action](params)
        return 200, json.dumps({"help": self._help(action), "success": True, "result": result})

    def package_search(self, params: dict[str, Any]) -> dict[str, Any]:
        rows = min(int(params.get("rows", 10)), 1000)
        start = int(params.get("start", 0))
        private = _boolean(params.get("include_private")) and params.get("_authorized")
        found = [
            p
            for p in self.packages
            if _matches(p, str(params.get("fq") or "")) and (private or not p.get("private"))
        ]
        for name, descending in reversed(_sort_fields(str(params.get("sort") or ""))):
            found.sort(key=lambda p, name=name: str(p.get(name) or ""), reverse=descending)
        return {
            "count": len(found),
            "facets": {},
            "results": found[start : start + rows],
            "sort": params.get("sort") or "score desc, metadata_modified desc",
            "search_facets": {},
        }

    def _group_list(self, items: list[dict[str, Any]], params: dict[str, Any]) -> list[Any]:
        all_fields = _boolean(params.get("all_fields"))
        cap = self.all_fields_max if all_fields else 1000
        limit = min(int(params.get("limit", cap)), cap)
        offset = int(params.get("offset", 0))
        page = items[offset : offset + limit]
        return page if all_fields else [item["name"] for item in page]

    def _help(self, action: str) -> str:
        base = self.url if self._server else "http://127.0.0.1"
        return f"{base}/api/3/action/help_show?name={action}"


def _handler_for(double: CkanDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve(dict(parse_qsl(urlparse(self.path).query)))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b"{}"
            self._serve(json.loads(body or b"{}"))

        def _serve(self, params: dict[str, Any]) -> None:
            match = ACTION_PATH.match(urlparse(self.path).path)
            if not match:
                self._send(404, "<html><body>Not found</body></html>", "text/html")
                return
            action = match["action"]
            headers = dict(self.headers.items())
            double.requests.append(Request(action, self.command, dict(params), headers))
            token = headers.get("Authorization") or headers.get("X-CKAN-API-Key")
            status, body = double.answer(action, {**params, "_authorized": token == double.api_key})
            self._send(status, body, "application/json;charset=utf-8")

        def _send(self, status: int, body: str, content_type: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: Any) -> None:  # keep test output quiet
            pass

    return Handler


def _result(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text("utf-8"))["result"]


def _boolean(value: Any) -> bool:
    return value is True or str(value).casefold() in ("true", "1", "yes")


def _matches(package: dict[str, Any], fq: str) -> bool:
    """The parts of Solr's filter syntax the harvester sends: a metadata_modified range
    (inclusive, `*` open) and organization:(a OR b)."""
    modified = _moment(package["metadata_modified"])
    for match in MODIFIED_RANGE.finditer(fq):
        low, high = match["low"], match["high"]
        if low != "*" and modified < _moment(low):
            return False
        if high not in ("*", "NOW") and modified > _moment(high):
            return False
    for match in ORGANIZATION_FILTER.finditer(fq):
        names = match["names"] if match["names"] is not None else match["one"]
        wanted = {n.strip().strip('"') for n in names.split(" OR ")}
        if (package.get("organization") or {}).get("name") not in wanted:
            return False
    return True


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "")).replace(tzinfo=None)


def _sort_fields(sort: str) -> list[tuple[str, bool]]:
    """[(field, descending)] of a Solr sort ("metadata_modified asc, id asc"); relevance
    (score) means nothing here and is left out."""
    out = []
    for part in sort.split(","):
        words = part.split()
        if words and words[0] != "score":
            out.append((words[0], len(words) > 1 and words[1].lower() == "desc"))
    return out
