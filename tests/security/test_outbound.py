# ruff: noqa: F811
"""Outbound fetches (findings 1, 2, 15 and the proxy's 500s of 16): one client for the
resource proxy and every harvester; nothing reaches loopback, private or file: targets
unless allow-listed, redirects are re-checked, time and size are bounded, errors are
problems (403/502/504) that quote nothing fetched, and a failed fetch costs no quota.

The "internal service" is a server on 127.0.0.1 holding a secret: every test that must not
reach it asserts that it was never asked. A "public" server is simulated on 127.0.0.2,
allow-listed on its own."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from harvesters.dcat import DcatHarvester
from harvesters.outbound import AllowList, OutboundClient, Reach, RefusedDestination
from portal.cli import main
from portal.harvest.sources import add_source
from portal.models import AuditEntry, Grant, HarvestJob, Resource
from portal.outbound import Outbound
from portal.services import database, settings

from ..access.conftest import ORG, World, world  # noqa: F401 (the fixture)
from ..access.test_rights import grant
from ..harvesters.ckan_double import CkanDouble
from ..web.test_workspace import BASE, csrf, signed_in

SECRET = b"TOP-SECRET-internal-service-0123456789abcdef"


@dataclass
class Server:
    url: str
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    @property
    def hits(self) -> int:
        return len(self.requests)


Route = Callable[[BaseHTTPRequestHandler], None]


def serve(host: str, route: Route) -> Iterator[Server]:
    found: Server

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            found.requests.append((self.path, dict(self.headers)))
            route(self)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    found = Server(f"http://{host}:{server.server_address[1]}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield found
    server.shutdown()
    server.server_close()


def answer(body: bytes, status: int = 200, content_type: str = "text/plain") -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return route


@pytest.fixture
def secret() -> Iterator[Server]:
    """An internal service on loopback: nothing may read it."""
    yield from serve("127.0.0.1", answer(SECRET))


@pytest.fixture
def redirector(secret: Server) -> Iterator[Server]:
    """A 'public' server (127.0.0.2, allow-listed alone) that redirects to the secret."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", f"{secret.url}/secret")
        handler.end_headers()

    yield from serve("127.0.0.2", route)


def configure(world: World, **changes: object) -> None:
    """The world's outbound policy, as the settings `changes` would make it."""
    changed = dataclasses.replace(settings(world.app), **changes)
    world.app.extensions["portal.outbound"] = Outbound.from_settings(changed)


def proxied(world: World, dataset: str, url: str) -> str:
    """Point the dataset's first resource at `url` and drop its stored copy: the download
    route then proxies. Returns the download path."""
    resource_id = world.resources[dataset][0]
    with database(world.app).transaction() as session:
        resource = session.get(Resource, resource_id)
        resource.url, resource.file_key = url, None
    return f"/api/v1/datasets/{dataset}/resources/{resource_id}/data"


def assert_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.content_type == "application/problem+json"
    assert SECRET not in response.data
    return response.get_json()


# --- finding 1: the resource proxy -------------------------------------------------------


def test_the_proxy_refuses_loopback_and_reads_nothing(world: World, secret: Server) -> None:
    path = proxied(world, "bus-lines", f"{secret.url}/secret")
    problem = assert_problem(world.client.get(path), 403)
    assert secret.hits == 0
    assert "127.0.0.1" not in json.dumps(problem)  # the upstream address is not shown


def test_a_public_redirect_to_loopback_is_refused_at_the_hop(
    world: World, secret: Server, redirector: Server
) -> None:
    configure(world, outbound_allow="127.0.0.2")
    path = proxied(world, "bus-lines", f"{redirector.url}/file.csv")
    assert_problem(world.client.get(path), 403)
    assert redirector.hits == 1 and secret.hits == 0


def test_a_departments_allow_list_and_credentials_reach_its_upstream_only(
    world: World, secret: Server, tmp_path: Path
) -> None:
    departments = tmp_path / "departments.toml"
    departments.write_text(
        f'[{ORG["name"]}]\nallow = ["127.0.0.1"]\n'
        f'[{ORG["name"]}.headers]\nAuthorization = "Bearer dept-secret"\n',
        encoding="utf-8",
    )
    configure(world, outbound_departments=str(departments))
    path = proxied(world, "bus-lines", f"{secret.url}/secret")
    response = world.client.get(path)
    assert response.status_code == 200 and response.data == SECRET
    assert secret.requests[0][1]["Authorization"] == "Bearer dept-secret"
    assert secret.requests[0][1]["Host"] == secret.url.removeprefix("http://")


def test_credentials_do_not_follow_a_redirect_to_another_host(
    world: World, secret: Server, redirector: Server, tmp_path: Path
) -> None:
    departments = tmp_path / "departments.yaml"
    departments.write_text(
        f"{ORG['name']}:\n  hosts: [127.0.0.2]\n  allow: [127.0.0.0/8]\n"
        "  headers: {X-Api-Key: dept-secret}\n",
        encoding="utf-8",
    )
    configure(world, outbound_departments=str(departments))
    path = proxied(world, "bus-lines", f"{redirector.url}/file.csv")
    assert world.client.get(path).status_code == 200
    assert redirector.requests[0][1].get("X-Api-Key") == "dept-secret"
    assert "X-Api-Key" not in secret.requests[0][1]


def test_a_slow_upstream_is_a_504(world: World) -> None:
    def slow(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(2)
        answer(b"late")(handler)

    server = serve("127.0.0.1", slow)
    upstream = next(server)
    try:
        configure(world, outbound_allow="127.0.0.1", outbound_read_timeout=0.3)
        path = proxied(world, "bus-lines", f"{upstream.url}/slow.csv")
        assert_problem(world.client.get(path), 504)
    finally:
        next(server, None)


def test_an_oversized_answer_is_a_502_and_reading_stops(world: World) -> None:
    def endless(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.end_headers()  # no Content-Length: the cap is applied as it streams
        try:
            for _ in range(1000):
                handler.wfile.write(b"x" * 65536)
        except OSError:
            pass  # the proxy stopped reading

    server = serve("127.0.0.1", endless)
    upstream = next(server)
    try:
        configure(world, outbound_allow="127.0.0.1", outbound_max_bytes=100_000)
        path = proxied(world, "bus-lines", f"{upstream.url}/big.csv")
        assert_problem(world.client.get(path), 502)
    finally:
        next(server, None)


def test_an_upstream_error_is_a_502_not_a_500(world: World) -> None:
    server = serve("127.0.0.1", answer(b"internal stack trace", status=500))
    upstream = next(server)
    try:
        configure(world, outbound_allow="127.0.0.1")
        path = proxied(world, "bus-lines", f"{upstream.url}/x.csv")
        problem = assert_problem(world.client.get(path), 502)
        assert "stack trace" not in json.dumps(problem)
    finally:
        next(server, None)


def test_a_file_url_is_never_served(world: World) -> None:
    path = proxied(world, "bus-lines", "file:///etc/passwd")
    response = world.client.get(path)
    assert response.status_code in (403, 404) and b"root:" not in response.data


# --- finding 15: no quota spent when the upstream fails -----------------------------------


def test_a_failed_upstream_costs_no_quota_and_is_not_audited_as_served(
    world: World, secret: Server
) -> None:
    ids = grant(world)
    resource_id = ids["resource"]
    with database(world.app).transaction() as session:
        resource = session.get(Resource, resource_id)
        resource.url, resource.file_key = f"{secret.url}/secret", None
    token = world.token("enterprise", [f"grant:{ids['grant']}"])
    path = f"/api/v1/grants/{ids['grant']}/resources/{resource_id}/data"
    assert_problem(world.call("GET", path, token=token), 403)  # loopback, not allowed
    configure(world, outbound_allow="127.0.0.1")
    secret_route_down = f"{secret.url}/secret".replace(secret.url, "http://127.0.0.1:9")
    with database(world.app).transaction() as session:
        session.get(Resource, resource_id).url = secret_route_down  # nothing listens
    assert_problem(world.call("GET", path, token=token), 502)
    with database(world.app).sessions() as session:
        assert session.get(Grant, ids["grant"]).used_calls == 0
        served = session.scalars(select(AuditEntry).where(AuditEntry.action == "data.serve"))
        assert list(served) == []
    with database(world.app).transaction() as session:
        session.get(Resource, resource_id).url = f"{secret.url}/secret"
    assert world.call("GET", path, token=token).data == SECRET
    with database(world.app).sessions() as session:
        assert session.get(Grant, ids["grant"]).used_calls == 1


# --- finding 2: harvests, and links inside what they fetch --------------------------------


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Callable[..., tuple[int, str]]:
    """`portal …` in this process, on a fresh instance."""
    env = {"PORTAL_INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": database_url}
    assert CliRunner().invoke(main, ["init"], env=env).exit_code == 0

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, list(args), env=env)
        return result.exit_code, result.output

    return run


PAGE = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
<https://data.example.cn/catalog> a dcat:Catalog ; dcat:dataset <https://data.example.cn/d/1> .
<https://data.example.cn/d/1> a dcat:Dataset ; dct:title "公园"@zh .
<https://data.example.cn/catalog?page=1> a hydra:PartialCollectionView ;
    hydra:next <{next}> .
"""


def test_a_remote_catalogs_file_link_is_refused_and_the_job_quotes_nothing(
    cli: Callable[..., tuple[int, str]], tmp_path: Path
) -> None:
    local = tmp_path / "local-secret.ttl"
    local.write_bytes(SECRET + b" is not turtle at all {{{")
    page = PAGE.format(next=local.as_uri()).encode()
    server = serve("127.0.0.2", answer(page, content_type="text/turtle"))
    remote = next(server)
    try:
        url = f"{remote.url}/catalog.ttl"
        code, out = cli(
            "harvest", "add", "far", "--type", "dcat", "--url", url, "--allow", "127.0.0.2"
        )
        assert code == 0, out
        code, ran = cli("harvest", "run", "far")
        _, shown = cli("harvest", "show", "far")
    finally:
        next(server, None)
    assert code != 0 and remote.hits == 1
    assert "http(s)" in shown and local.as_uri() in shown  # why, and which link
    for output in (ran, shown):
        assert SECRET[:8] not in output.encode() and b"not turtle" not in output.encode()


def test_etc_passwd_as_a_next_page_is_never_read(cli: Callable[..., tuple[int, str]]) -> None:
    page = PAGE.format(next="file:///etc/passwd").encode()
    server = serve("127.0.0.2", answer(page, content_type="text/turtle"))
    remote = next(server)
    try:
        cli(
            "harvest",
            "add",
            "pw",
            "--type",
            "dcat",
            "--url",
            f"{remote.url}/c",
            "--allow",
            "127.0.0.2",
        )
        _, ran = cli("harvest", "run", "pw")
        _, shown = cli("harvest", "show", "pw")
    finally:
        next(server, None)
    assert "root:" not in ran + shown and "file:///etc/passwd" in shown


def test_jsonld_contexts_are_never_fetched_nor_read(secret: Server, tmp_path: Path) -> None:
    context_file = tmp_path / "context.jsonld"
    extra = {"@context": {"extra": "http://purl.org/dc/terms/description"}}
    context_file.write_text(json.dumps(extra), encoding="utf-8")
    document = {
        "@context": [
            f"{secret.url}/context.jsonld",
            str(context_file),
            context_file.as_uri(),
            {
                "@import": f"{secret.url}/imported.jsonld",
                "dcat": "http://www.w3.org/ns/dcat#",
                "dct": "http://purl.org/dc/terms/",
            },
        ],
        "@graph": [
            {
                "@id": "https://data.example.cn/d/1",
                "@type": "dcat:Dataset",
                "dct:title": {"@value": "公园", "@language": "zh"},
                "extra": "from a context that must not be read",
                "dct:publisher": {"@id": "https://data.example.cn/org/1"},
            }
        ],
    }
    server = serve(
        "127.0.0.2", answer(json.dumps(document).encode(), content_type="application/ld+json")
    )
    remote = next(server)
    try:
        reach = Reach.allowing("127.0.0.2", "127.0.0.1")  # even allowed, a context is not fetched
        records = list(DcatHarvester(f"{remote.url}/catalog.jsonld", reach=reach).records())
    finally:
        next(server, None)
    assert secret.hits == 0
    (found,) = [r for r in records if r.kind == "dataset"]
    assert "from a context" not in json.dumps(found.data, ensure_ascii=False)


def test_a_ckan_portal_on_loopback_is_refused_unless_its_source_allows_it(
    cli: Callable[..., tuple[int, str]],
) -> None:
    with CkanDouble.recorded() as double:
        cli(
            "harvest", "add", "near", "--type", "ckan", "--url", double.url, "--option", "prefix=qd"
        )
        code, out = cli("harvest", "run", "near")
        assert code != 0 and double.requests == []
        _, shown = cli("harvest", "show", "near")
        assert "loopback" in shown
        cli(
            "harvest", "add", "allowed", "--type", "ckan", "--url", double.url,
            "--option", "prefix=qd", "--allow", "127.0.0.1",
        )  # fmt: skip
        _, out = cli("harvest", "run", "allowed")
        # Read: its records are there (this instance lacks their zones: no matter here).
        assert "allowed: finished" in out and double.requests


def test_a_spreadsheet_url_on_loopback_is_refused(
    cli: Callable[..., tuple[int, str]], secret: Server
) -> None:
    url = f"{secret.url}/catalog.xlsx"
    cli("harvest", "add", "sheet", "--type", "spreadsheet", "--url", url)
    code, _ = cli("harvest", "run", "sheet")
    _, shown = cli("harvest", "show", "sheet")
    assert code != 0 and secret.hits == 0 and "loopback" in shown


def test_local_files_only_for_a_source_typed_at_the_command_line(
    world: World, tmp_path: Path
) -> None:
    """A source registered any other way than `portal harvest add` (here: the service,
    as a future form or API would) reads no file, even when an officer runs it."""
    local = tmp_path / "catalog.ttl"
    local.write_bytes(SECRET)
    with database(world.app).transaction() as session:
        add_source(session, name="sneaky", type="dcat", url=str(local), publisher=ORG["name"])
    officer = signed_in(world, "officer")
    page = officer.get("/workspace/harvest/sneaky", base_url=BASE).get_data(as_text=True)
    ran = officer.post(
        "/workspace/harvest/sneaky/run",
        base_url=BASE,
        data={"csrf_token": csrf(page)},
        headers={"Referer": f"{BASE}/workspace/harvest/sneaky"},
    )
    assert ran.status_code == 302
    with database(world.app).sessions() as session:
        job = session.scalar(select(HarvestJob).order_by(HarvestJob.id.desc()))
        assert job.status == "failed" and "local files" in job.error
        assert SECRET.decode()[:8] not in job.error


# --- the address policy itself --------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # CG-NAT
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "::",
    ],
)
def test_every_non_public_form_is_refused(address: str) -> None:
    client = OutboundClient()
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(RefusedDestination):
        client.fetch(f"http://{host}:9/")


def test_a_name_that_rebinds_after_the_check_still_reaches_the_checked_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: the name answers the allowed 127.0.0.2 once, then 127.0.0.1. The
    connection goes to the address that was checked, on the same port as the secret."""
    public = ThreadingHTTPServer(("127.0.0.2", 0), _Plain)
    port = public.server_address[1]
    try:
        internal = ThreadingHTTPServer(("127.0.0.1", port), _Secret)
    except OSError:
        public.server_close()
        pytest.skip("the port is taken on 127.0.0.1")
    for server in (public, internal):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    real = socket.getaddrinfo
    answers = iter(["127.0.0.2"])

    def rebinding(host: str, *args: object, **kwargs: object) -> list:  # type: ignore[type-arg]
        if host == "rebind.example":
            address = next(answers, "127.0.0.1")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    try:
        body, _ = OutboundClient(AllowList.parse(["127.0.0.2"])).fetch(
            f"http://rebind.example:{port}/"
        )
    finally:
        for server in (public, internal):
            server.shutdown()
            server.server_close()
    assert body == b"public" and SECRET not in body


class _Plain(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the name http.server calls
        answer(b"public")(self)

    def log_message(self, *_args: object) -> None:
        pass


class _Secret(_Plain):
    def do_GET(self) -> None:
        answer(SECRET)(self)
