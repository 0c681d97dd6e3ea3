"""Every setting of the portal, typed, with its default and what it does: the one place.

Values come, later ones winning, from the defaults below, the instance config file
(``<instance>/portal.toml``), the environment, and the mapping given to ``create_app``.
README's configuration table is generated from ``SETTINGS`` (``portal config --markdown``).
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any


def _setting(default: Any, env: str, doc: str) -> Any:
    return field(default=default, metadata={"env": env, "doc": doc})


@dataclass(frozen=True)
class Settings:
    instance_path: str = _setting(
        "./instance",
        "PORTAL_INSTANCE_PATH",
        "Folder for the database, the search index, uploaded files and `portal.toml`.",
    )
    database_url: str = _setting(
        "",
        "DATABASE_URL",
        "SQLAlchemy URL. Empty: SQLite at `<instance>/portal.db`. "
        "PostgreSQL: `postgresql+psycopg://user@host/db` (install the `pg` extra).",
    )
    secret_key: str = _setting(
        "",
        "PORTAL_SECRET_KEY",
        "Signs sessions. Empty: a random key is made once and kept in `<instance>/secret_key`.",
    )
    grade_policy: str = _setting(
        "",
        "PORTAL_GRADE_POLICY",
        "YAML file mapping each grade to its allowed openness. "
        "Empty: the bundled default (domain.md section 3).",
    )
    search_backend: str = _setting(
        "tantivy",
        "PORTAL_SEARCH_BACKEND",
        "`tantivy` (embedded, index under `<instance>/search`) or `elasticsearch` (`ES_URL`).",
    )
    es_url: str = _setting(
        "",
        "ES_URL",
        "Elasticsearch URL(s), comma-separated, e.g. `https://elastic:pw@es01:9200` "
        "(install the `es` extra).",
    )
    es_index: str = _setting(
        "portal-datasets",
        "PORTAL_ES_INDEX",
        "Alias of the live Elasticsearch index; versions are named `<alias>-<timestamp>`.",
    )
    es_ca_certs: str = _setting(
        "", "PORTAL_ES_CA_CERTS", "CA bundle to verify Elasticsearch's TLS certificate."
    )
    index_interval: float = _setting(
        1.0,
        "PORTAL_INDEX_INTERVAL",
        "Seconds between outbox drains in a serving process (0: do not drain while serving).",
    )
    host: str = _setting(
        "127.0.0.1", "PORTAL_HOST", "Address `portal up` and `portal serve` listen on."
    )
    port: int = _setting(5000, "PORTAL_PORT", "Port `portal up` and `portal serve` listen on.")
    page_size: int = _setting(20, "PORTAL_PAGE_SIZE", "Datasets per page in listings.")
    sql_echo: bool = _setting(False, "PORTAL_SQL_ECHO", "Log every SQL statement (debugging).")
    holidays: str = _setting(
        "",
        "PORTAL_HOLIDAYS",
        "Public holidays (YYYY-MM-DD, comma-separated) skipped when counting the 5 working "
        "days of a formality review; weekends are always skipped.",
    )
    api_rate_limit: str = _setting(
        "1200/minute",
        "PORTAL_API_RATE_LIMIT",
        "Requests allowed per API token (or per IP without one) on `/api/`, in Flask-Limiter "
        "notation (`600/minute;20/second`). Over it: 429 with `Retry-After`. Empty: no limit.",
    )
    api_ip_rate_limit: str = _setting(
        "3000/minute",
        "PORTAL_API_IP_RATE_LIMIT",
        "Requests allowed per IP on `/api/`, whatever the tokens. Empty: no limit.",
    )
    login_rate_limit: str = _setting(
        "10/minute", "PORTAL_LOGIN_RATE_LIMIT", "Sign-in attempts allowed per IP."
    )
    rate_limit_storage: str = _setting(
        "memory://",
        "PORTAL_RATE_LIMIT_STORAGE",
        "Where request counts are kept: `memory://` (one process) or e.g. `redis://host:6379` "
        "so that several workers share them.",
    )
    public_url: str = _setting(
        "",
        "PORTAL_PUBLIC_URL",
        "The portal's public address, e.g. `https://data.qingdao.gov.cn`: the base of every "
        "absolute URL (mail links, DCAT, CKAN), and its host is trusted. Empty: the request's "
        "host if it is a trusted host, else the listening address. Set it in production.",
    )
    trusted_hosts: str = _setting(
        "localhost,127.0.0.1",
        "PORTAL_TRUSTED_HOSTS",
        "Host names the portal answers to, comma-separated (`.example.cn` takes its "
        "subdomains); the public URL's host and `PORTAL_HOST` are added. A request for any "
        "other `Host` gets 400. Empty, with no public URL: every host is answered and "
        "absolute URLs use `http://PORTAL_HOST:PORTAL_PORT` (never the request's `Host`).",
    )
    trusted_proxies: int = _setting(
        0,
        "PORTAL_TRUSTED_PROXIES",
        "How many reverse proxies in front of the portal set `X-Forwarded-For`/`-Proto`/"
        "`-Host` (werkzeug's ProxyFix). 0: those headers are ignored, and the client is "
        "the connection's address (rate limits, sign-in throttling, the audit log).",
    )
    smtp_url: str = _setting(
        "",
        "PORTAL_SMTP_URL",
        "Mail server for password-reset mail, `smtp://user:pw@host:587` (STARTTLS). Empty: "
        "mail is written to `<instance>/mail/` instead (a laptop, tests).",
    )
    mail_from: str = _setting(
        "noreply@data.qingdao.gov.cn", "PORTAL_MAIL_FROM", "Sender of the portal's mail."
    )
    max_request_bytes: int = _setting(
        2 * 1024**2,
        "PORTAL_MAX_REQUEST_BYTES",
        "Largest request body accepted (bytes); a larger one is refused with 413 before it is "
        "read. Uploads have their own limits below.",
    )
    max_upload_bytes: int = _setting(
        20 * 1024**2,
        "PORTAL_MAX_UPLOAD_BYTES",
        "Largest spreadsheet catalog a department may upload for a dry run (bytes).",
    )
    max_file_bytes: int = _setting(
        2 * 1024**3,
        "PORTAL_MAX_FILE_BYTES",
        "Largest resource data file the portal stores (bytes).",
    )
    secure_cookies: bool = _setting(
        True,
        "PORTAL_SECURE_COOKIES",
        "Send the session cookie over HTTPS only. Set false only for plain-HTTP local use.",
    )
    audit_key_path: str = _setting(
        "",
        "PORTAL_AUDIT_KEY_PATH",
        "Ed25519 key (PEM) that signs the audit log's checkpoints; made (mode 0600) with the "
        "log's first entry. Empty: `<instance>/audit.key`. In production keep it outside the "
        "instance folder and the database backups, readable by the portal's user only.",
    )
    audit_checkpoint_every: int = _setting(
        1000,
        "PORTAL_AUDIT_CHECKPOINT_EVERY",
        "Audit entries between two lines of the append-only `<instance>/audit.checkpoints` "
        "(also one every 10 minutes); `<instance>/audit.head` is re-signed on every commit.",
    )

    outbound_allow: str = _setting(
        "",
        "PORTAL_OUTBOUND_ALLOW",
        "Non-public destinations every outbound fetch (resource proxy, harvests) may reach: "
        "addresses, CIDRs or host names (`.internal` for a whole domain), comma-separated. "
        "Loopback, private, link-local, CG-NAT, multicast and reserved addresses are refused "
        "otherwise. A harvest source adds its own (`portal harvest add --allow`), a department "
        "its own (`outbound_departments`).",
    )
    outbound_departments: str = _setting(
        "",
        "PORTAL_OUTBOUND_DEPARTMENTS",
        "TOML or YAML file, per department (organization name): `hosts` its resources' "
        "upstreams live on, `headers` sent to those hosts only when the proxy fetches its "
        "resources (credentials such as `Authorization`; never shown), `allow` non-public "
        "addresses its resources and harvest sources may reach. Empty: none.",
    )
    outbound_read_timeout: float = _setting(
        30.0,
        "PORTAL_OUTBOUND_READ_TIMEOUT",
        "Seconds an outbound fetch waits for the upstream to connect or to send more.",
    )
    outbound_total_timeout: float = _setting(
        300.0,
        "PORTAL_OUTBOUND_TOTAL_TIMEOUT",
        "Seconds one outbound fetch may take in all, redirects and body included (over it: "
        "504 for the proxy, a failed harvest).",
    )
    outbound_max_bytes: int = _setting(
        256 * 1024 * 1024,
        "PORTAL_OUTBOUND_MAX_BYTES",
        "Largest answer an outbound fetch reads, in bytes (over it: 502 for the proxy, a "
        "failed harvest).",
    )
    harvest_max_seconds: float = _setting(
        3600.0,
        "PORTAL_HARVEST_MAX_SECONDS",
        "Seconds one harvest job may run in all; past it the job stops at the next record, "
        "keeps what it committed, withdraws nothing and its job says why.",
    )
    harvest_record_seconds: float = _setting(
        60.0,
        "PORTAL_HARVEST_RECORD_SECONDS",
        "Seconds reading and checking one harvested record may take; a record over it is "
        "reported as that record's error and the run goes on.",
    )

    @property
    def instance_dir(self) -> Path:
        return Path(self.instance_path).resolve()

    @property
    def holiday_dates(self) -> frozenset[date]:
        return frozenset(
            date.fromisoformat(day.strip()) for day in self.holidays.split(",") if day.strip()
        )

    @property
    def audit_key(self) -> Path:
        return (
            Path(self.audit_key_path).resolve()
            if self.audit_key_path
            else (self.instance_dir / "audit.key")
        )

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.instance_dir / 'portal.db'}"

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.instance_dir / "secret_key"
        if not path.exists():
            self.instance_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip()


SETTINGS = fields(Settings)


def load_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Defaults < `<instance>/portal.toml` < environment < `overrides`."""
    overrides = dict(overrides or {})
    env = {
        f.name: os.environ[f.metadata["env"]] for f in SETTINGS if f.metadata["env"] in os.environ
    }
    instance = overrides.get("instance_path") or env.get("instance_path") or Settings.instance_path
    config_file = Path(instance) / "portal.toml"
    from_file = tomllib.loads(config_file.read_text("utf-8")) if config_file.exists() else {}
    unknown = set(from_file) - {f.name for f in SETTINGS}
    if unknown:
        raise ValueError(f"{config_file}: unknown settings {sorted(unknown)}")
    values = {**from_file, **env, **overrides}
    return Settings(**{f.name: _coerce(f, values[f.name]) for f in SETTINGS if f.name in values})


def _coerce(setting: Any, value: Any) -> Any:
    kind = type(setting.default)
    if kind is bool and isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return kind(value)


def markdown_table() -> str:
    rows = ["| setting | environment | default | what it does |", "|---|---|---|---|"]
    for f in SETTINGS:
        default = f"`{f.default}`" if f.default not in ("", None) else "(empty)"
        rows.append(f"| `{f.name}` | `{f.metadata['env']}` | {default} | {f.metadata['doc']} |")
    return "\n".join(rows)
