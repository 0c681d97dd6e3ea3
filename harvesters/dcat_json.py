"""DCAT-US / Project Open Data `data.json` (and pydatajson catalogs) → dataset dicts, and the
mapping of such dicts onto our profile, shared with the RDF reader (`dcat_rdf`).

A dataset dict has data.json's keys (title, description, identifier, keyword, publisher,
contactPoint, accessLevel, rights, license, accrualPeriodicity, theme, landingPage, issued,
modified, distribution …); the RDF reader adds `iri`, `title_en`, `accessRights` and
`portal`. `publisher` is an agent dict: key (IRI or name), name, name_en, mbox, homepage, phone.
The correspondences with DCAT (vocabulary tables, our qdp: properties) are those of
formats/dcat.py, which the portal's exports write by.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from marshmallow import ValidationError, validate

from schemas import Message, message, vocab
from schemas.base import PHONE

from .base import SourceRecord, stable_name
from .formats.dcat import (
    PROPERTIES_BY_FIELD,
    ZONE_FIELDS,
    PortalProperty,
    duration_days,
    lookup,
)
from .values import clean, map_term

DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ].*)?$")
DURATION = re.compile(
    r"^(?:R\d*/)?P(?:([\d.]+)Y)?(?:([\d.]+)M)?(?:([\d.]+)W)?(?:([\d.]+)D)?"
    r"(?:T(?:([\d.]+)H)?(?:([\d.]+)M)?(?:([\d.]+)S)?)?$"
)
DURATION_UNIT_DAYS = (365.25, 30.44, 7, 1, 1 / 24, 1 / 1440, 1 / 86400)
FILE_FORMATS = {"csv", "xls", "xlsx", "json", "xml", "rdf", "pdf"}
ORGANIZATION_TITLE_MAX = 200
_is_url = validate.URL(schemes={"http", "https", "ftp", "ftps"})
_is_email = validate.Email()

Warnings = list[Message]


def resolve(
    vocabulary: str,
    candidates: list[tuple[str, Any]],
    field: str,
    warnings: Warnings,
    convert: Callable[[str], str | None] | None = None,
) -> str | None:
    """The first (table, value) candidate that names a code of `vocabulary`, through the
    data/dcat.yaml table, `convert`, or the vocabulary itself. Every informative value passed
    over on the way (or all of them, when none matches) is dropped with `map_term`'s
    warning."""
    passed_over: list[str] = []
    found_code: str | None = None
    for table, value in candidates:
        text = clean(value) if isinstance(value, str) else None
        if text is None:
            continue
        found, code = lookup(table, text)
        if found and code is None:
            continue  # a value the table marks as saying nothing (application/octet-stream)
        code = code or (convert(text) if convert else None) or vocab(vocabulary).resolve(text)
        if code:
            found_code = code
            break
        passed_over.append(text)
    for text in passed_over:
        map_term(vocabulary, text, field, warnings)
    return found_code


def frequency_of_duration(text: str) -> str | None:
    """ISO 8601 (repeating) durations: R/P1Y → annual, R/P0.5M → monthly, R/PT1S → realtime."""
    match = DURATION.match(text.strip().upper())
    if not match or not any(match.groups()):
        return None
    try:
        days = sum(
            float(n or 0) * unit for n, unit in zip(match.groups(), DURATION_UNIT_DAYS, strict=True)
        )
    except ValueError:
        return None
    for code, limit in duration_days().items():
        if 0 < days <= limit:
            return code
    return None


def read_data_json(doc: dict[str, Any], file_name: str) -> Iterator[tuple[str, Any]]:
    """(location, dataset dict) for each entry of a data.json `dataset` list."""
    catalog_publisher = doc.get("publisher")
    themes = doc.get("themeTaxonomy")
    taxonomy = {
        str(t.get("id")): str(t.get("label"))
        for t in (themes if isinstance(themes, list) else [])
        if isinstance(t, dict) and t.get("id") and t.get("label")
    }
    listed = doc.get("dataset")
    for index, item in enumerate(listed if isinstance(listed, list) else []):
        if not isinstance(item, dict):
            yield f"{file_name}:#{index}", item
            continue
        identifier = item.get("identifier")
        where = f"{file_name}:#{index}" + (f" ({identifier})" if identifier else "")
        yield (
            where,
            _normalize(item, catalog_publisher, taxonomy),
        )


def _normalize(item: dict[str, Any], catalog_publisher: Any, taxonomy: dict[str, str]) -> dict:
    out = dict(item)
    out["publisher"] = _json_agent(item.get("publisher") or catalog_publisher)
    themes = [*_as_list(item.get("theme")), *_as_list(item.get("superTheme"))]
    # pydatajson themes are ids of the catalog's own taxonomy; its labels say more.
    out["theme"] = [t for theme in themes for t in (theme, taxonomy.get(str(theme))) if t]
    return out


def _json_agent(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str) and value.strip():
        return {"key": value.strip(), "name": value.strip()}
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return None
    name = value["name"].strip()
    return {"key": name, "name": name, "mbox": value.get("mbox"), "homepage": value.get("url")}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


class DcatMapper:
    """Maps dataset dicts onto the profile and collects the publishers they name."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.organizations: dict[str, SourceRecord] = {}

    def publisher(self, agent: Any, location: str, warnings: Warnings) -> str | None:
        """Our organization name for an agent dict, registering the organization once."""
        if not isinstance(agent, dict):
            return None
        title = _text(agent.get("name"), "publisher", warnings)
        if not title:
            warnings.append(
                message(
                    "发布者（dct:publisher）没有名称，由采集源设置决定发布机构",
                    "The publisher has no name; the harvest source's settings decide it.",
                )
            )
            return None
        name = stable_name(self.prefix, str(agent.get("key") or title))
        if name not in self.organizations:
            org_warnings: Warnings = []
            data = {
                "name": name,
                **_organization_title(title, org_warnings),
                "title_en": agent.get("name_en"),
                "contact_email": _email(agent.get("mbox"), "contact_email", org_warnings),
                "contact_phone": _phone(agent.get("phone"), "contact_phone", org_warnings),
                "website": _url(agent.get("homepage"), "website", org_warnings),
            }
            self.organizations[name] = SourceRecord(
                "organization", _present(data), location, tuple(org_warnings)
            )
        return name

    def dataset(self, raw: Any, location: str) -> SourceRecord:
        if not isinstance(raw, dict):
            problem = message(
                f"数据集条目不是 JSON 对象（{type(raw).__name__}），无法读取",
                f"The dataset entry is not a JSON object ({type(raw).__name__}); unreadable.",
            )
            return SourceRecord("dataset", {}, location, (problem,))
        warnings: Warnings = []
        data = self._fields(raw, location, warnings)
        portal = raw.get("portal")
        self._apply_portal_fields(portal if isinstance(portal, dict) else {}, data, warnings)
        return SourceRecord("dataset", _present(data), location, tuple(warnings))

    def _fields(self, raw: dict[str, Any], location: str, warnings: Warnings) -> dict[str, Any]:
        title = _text(raw.get("title"), "title", warnings)
        title_en = _text(raw.get("title_en"), "title_en", warnings)
        iri = _text(raw.get("iri"), "iri", warnings)
        identifier = _text(raw.get("identifier"), "identifier", warnings) or iri
        source_id = identifier or title or location
        open_type = resolve(
            "open_types",
            [("open_types", raw.get("accessRights")), ("open_types", raw.get("accessLevel"))],
            "open_type",
            warnings,
        )
        resources = _resources(raw.get("distribution"), warnings)
        return {
            "name": stable_name(self.prefix, source_id, title_en or title or ""),
            "title": title,
            "title_en": title_en,
            "description": _text(raw.get("description"), "description", warnings),
            "publisher": self.publisher(raw.get("publisher"), location, warnings),
            "domain": _domain(raw.get("theme"), warnings),
            "open_type": open_type,
            "open_condition": _text(raw.get("rights"), "rights", warnings)
            if open_type == "conditional"
            else None,
            "update_frequency": _frequency(raw, warnings),
            "issued": _date(raw.get("issued"), "issued", warnings),
            "modified": _modified(raw.get("modified"), warnings),
            "keywords": _keywords(raw.get("keyword"), warnings),
            **_contact(raw.get("contactPoint"), warnings),
            "landing_page": _url(raw.get("landingPage"), "landing_page", warnings),
            "license": _license(raw.get("license"), warnings),
            "formats": list(dict.fromkeys(r["format"] for r in resources if r.get("format"))),
            "resources": resources,
            "extras": _extras(raw, source_id, iri),
        }

    def _apply_portal_fields(
        self, portal: dict[str, Any], data: dict[str, Any], warnings: Warnings
    ) -> None:
        """Our own export's values win over what DCAT's vocabularies approximate."""
        for field, listed in portal.items():
            values = [str(v) for v in _as_list(listed)]
            if field in ZONE_FIELDS:
                codes = [map_term("zones", v, "zones", warnings) for v in values]
                data["zones"] = sorted({c for c in codes if c})
            elif field not in PROPERTIES_BY_FIELD or not _apply_portal_value(
                PROPERTIES_BY_FIELD[field], values, data, warnings
            ):
                warnings.append(
                    message(
                        f"未识别的平台属性 qdp:{field}，已忽略",
                        f"Unknown portal property qdp:{field}; ignored.",
                    )
                )


def _apply_portal_value(
    prop: PortalProperty, values: list[str], data: dict[str, Any], warnings: Warnings
) -> bool:
    """Sets the field from the first value of its qdp: property; False when a count or a
    flag does not read as one (the caller warns, as for a property it does not know)."""
    value = values[0] if values else None
    if prop.kind == "code":
        data[prop.field] = map_term(str(prop.vocabulary), value, prop.field, warnings)
    elif prop.kind == "text":
        data[prop.field] = value
    elif prop.kind == "count" and value is not None and value.isdigit():
        data[prop.field] = int(value)
    elif prop.kind == "flag" and value is not None and value.lower() in ("true", "false"):
        data[prop.field] = value.lower() == "true"
    else:
        return False
    return True


def _organization_title(title: str, warnings: Warnings) -> dict[str, str]:
    """A department's full chain of names can pass the 200 characters a title may have:
    the title is cut, the full name kept as the description."""
    if len(title) <= ORGANIZATION_TITLE_MAX:
        return {"title": title}
    warnings.append(
        message(
            f"机构名称超过 {ORGANIZATION_TITLE_MAX} 个字符：标题已截断，全称保留在描述中",
            f"The organization's name is longer than {ORGANIZATION_TITLE_MAX} characters: "
            "the title is cut, the full name kept as its description.",
        )
    )
    return {"title": title[: ORGANIZATION_TITLE_MAX - 1] + "…", "description": title}


def _present(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, "", [], {})}


def _text(value: Any, field: str, warnings: Warnings) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if value is not None and not isinstance(value, str):
        warnings.append(
            message(
                f"{field}：值不是文本（{type(value).__name__}），已忽略",
                f"{field}: the value is not text ({type(value).__name__}); dropped.",
            )
        )
        return None
    return clean(value)


def _dropped(field: str, value: Any, zh_reason: str, en_reason: str) -> Message:
    return message(
        f"{field}：「{value}」{zh_reason}，已忽略", f"{field}: {value!r} {en_reason}; dropped."
    )


def _date(value: Any, field: str, warnings: Warnings) -> str | None:
    """YYYY-MM-DD from a date or a date-time (its time and zone are not ours to keep)."""
    text = _text(value, field, warnings)
    if text is None:
        return None
    match = DATE.match(text)
    if match:
        try:
            return date(*map(int, match.groups())).isoformat()
        except ValueError:
            pass
    warnings.append(_dropped(field, text, "不是可识别的日期", "is not a date we can read"))
    return None


def _modified(value: Any, warnings: Warnings) -> str | None:
    # DCAT-US lets `modified` be a repeating interval (R/P1D) for data updated continually:
    # that is a frequency (read by _frequency), not a date.
    if isinstance(value, str) and frequency_of_duration(value):
        return None
    return _date(value, "modified", warnings)


def _frequency(raw: dict[str, Any], warnings: Warnings) -> str | None:
    modified = raw.get("modified")
    candidates = [("update_frequencies", raw.get("accrualPeriodicity"))]
    if isinstance(modified, str) and frequency_of_duration(modified):
        candidates.append(("update_frequencies", modified))
    return resolve(
        "update_frequencies", candidates, "update_frequency", warnings, frequency_of_duration
    )


def _domain(themes: Any, warnings: Warnings) -> str | None:
    """The first theme that names a domain of ours; a warning only when none does (the
    others stay in extras["theme"], since a dataset has one domain)."""
    values = [t for t in _as_list(themes) if isinstance(t, str) and clean(t)]
    for value in values:
        found, code = lookup("domains", value)
        code = code if found else vocab("domains").resolve(value)
        if code:
            return code
    return map_term("domains", values[0], "domain", warnings) if values else None


def _keywords(value: Any, warnings: Warnings) -> list[str]:
    items = value.split(",") if isinstance(value, str) else _as_list(value)
    out: list[str] = []
    for item in items:
        text = _text(item, "keywords", warnings)
        if text and len(text) > 100:
            warnings.append(_dropped("keywords", text[:40] + "…", "超过 100 个字符", "is too long"))
        elif text and text not in out:
            out.append(text)
    return out


def _contact(point: Any, warnings: Warnings) -> dict[str, str | None]:
    if not isinstance(point, dict):
        return {}
    return {
        "contact_email": _email(point.get("hasEmail"), "contact_email", warnings),
        "contact_phone": _phone(point.get("hasTelephone"), "contact_phone", warnings),
    }


def _email(value: Any, field: str, warnings: Warnings) -> str | None:
    text = _text(value, field, warnings)
    if text is None:
        return None
    text = re.sub(r"^mailto:", "", text, flags=re.I).strip()
    try:
        _is_email(text)
    except ValidationError:
        warnings.append(_dropped(field, text, "不是有效的电子邮箱", "is not a valid email"))
        return None
    return text


def _phone(value: Any, field: str, warnings: Warnings) -> str | None:
    text = _text(value, field, warnings)
    if text is None:
        return None
    text = re.sub(r"^tel:", "", text, flags=re.I).strip()
    if not PHONE.match(text):
        warnings.append(_dropped(field, text, "不是有效的电话号码", "is not a valid phone number"))
        return None
    return text


def _url(value: Any, field: str, warnings: Warnings) -> str | None:
    text = _text(value, field, warnings)
    if text is None:
        return None
    try:
        _is_url(text)
    except ValidationError:
        warnings.append(_dropped(field, text, "不是有效的网址", "is not a valid URL"))
        return None
    return text


def _license(value: Any, warnings: Warnings) -> str | None:
    text = _text(value, "license", warnings)
    if text and len(text) > 200:
        warnings.append(
            message(
                "license：超过 200 个字符，只保留前 200 个字符",
                "license: longer than 200 characters; cut to 200.",
            )
        )
        return text[:200]
    return text


def _extras(raw: dict[str, Any], source_id: str, iri: str | None) -> dict[str, str]:
    themes = [str(t) for t in _as_list(raw.get("theme")) if isinstance(t, str)]
    contact = raw.get("contactPoint") if isinstance(raw.get("contactPoint"), dict) else {}
    extras = {
        "source_id": source_id,
        "iri": iri if iri != source_id else None,
        "theme": "; ".join(themes) or None,
        "spatial": raw.get("spatial") if isinstance(raw.get("spatial"), str) else None,
        "contact_name": contact.get("fn") if isinstance(contact.get("fn"), str) else None,
    }
    return {k: v for k, v in extras.items() if v}


def _resources(distributions: Any, warnings: Warnings) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    taken: set[str] = set()
    for index, dist in enumerate(_as_list(distributions)):
        if not isinstance(dist, dict):
            warnings.append(
                message(
                    f"第 {index + 1} 个分发（distribution）不是对象，已忽略",
                    f"Distribution #{index + 1} is not an object; dropped.",
                )
            )
            continue
        resource = _resource(dist, warnings)
        if resource is None:
            continue
        resource["name"] = _unique(resource["name"], taken)
        resources.append(resource)
    return resources


def _resource(dist: dict[str, Any], warnings: Warnings) -> dict[str, Any] | None:
    download = _url(dist.get("downloadURL"), "resources.url", warnings)
    access = _url(dist.get("accessURL"), "resources.url", warnings)
    url = download or access
    fmt = resolve(
        "formats",
        [("formats", dist.get("format")), ("media_types", dist.get("mediaType"))],
        "resources.format",
        warnings,
    )
    title = _text(dist.get("title"), "resources.name", warnings)
    if fmt == "api" or (dist.get("accessService") and not download):
        kind = "api"
    elif download or fmt in FILE_FORMATS or not url:
        kind = "file"
    else:
        kind = "link"
    name = title or (vocab("formats").label(fmt, "en") if fmt else None) or _url_tail(url)
    if not name:
        return None  # nothing to show or fetch: no title, format or URL
    if kind != "file" and not url:
        # An API or a link is its URL; without a usable one it would fail the whole dataset.
        warnings.append(_dropped("resources", name, "没有可用的网址", "has no usable URL"))
        return None
    media_type = _text(dist.get("mediaType"), "resources.media_type", warnings)
    resource = {
        "name": name[:300],
        "kind": kind,
        "format": fmt,
        "url": url,
        "media_type": media_type[:200] if media_type else None,
        "size": _size(dist.get("byteSize"), warnings),
        "description": _text(dist.get("description"), "resources.description", warnings),
    }
    return _present(resource)


def _url_tail(url: str | None) -> str | None:
    if not url:
        return None
    return url.split("?")[0].rstrip("/").rsplit("/", 1)[-1] or url


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name} ({number})", number + 1
    taken.add(candidate)
    return candidate


def _size(value: Any, warnings: Warnings) -> int | None:
    if value is None or value == "":
        return None
    try:
        size = int(float(str(value)))
    except ValueError:
        size = -1
    if size < 0:
        warnings.append(_dropped("resources.size", value, "不是字节数", "is not a byte count"))
        return None
    return size
