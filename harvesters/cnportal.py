"""JSON exports of Chinese government data portals (贵州, 四川 … city portals).

Every portal names the same things differently (标题 / subjectBaseName, 开放属性 /
openTypeName / 开放条件) and writes the same values differently (有条件开放 / 有条件;
每年 / 按年更新; 暂无 / 默认主题 for nothing). Labels are mapped by `labels.relabel` (the
shared map plus this harvester's own, `data/cnportal.yaml`), values by `values.map_term`
against the profile's vocabularies; what the profile field is (vocabulary, list, date,
count, text) is read from the dataset schema itself, so a label added to the shared map
needs no code here.

Input: a JSON file, or a folder of them (one file per portal; its stem, made a slug, is the
prefix of harvested names unless the option `prefix` says otherwise). A file may hold
several JSON arrays back to back (`[...][...]`), or an object with its list under
`data` / `records` / `result` …. A record's location is `file.json:#n`, n counting from 1
across the arrays of the file.

What becomes of each record:
- publishers, named only by title, become organizations `stable_name(prefix, title)`,
  yielded first, each once;
- a dataset is named `stable_name(prefix, detail URL)`; where the portal gives every
  record one generic URL (眉山), or none, by a hash of its title, publisher and 发布时间;
- a record repeated exactly (same name, same content: 宜宾 has 654) is yielded once, the
  kept one carrying a warning naming the repeats; a different record under the same name
  is yielded and the pipeline refuses it as a repeat;
- a value no vocabulary knows is dropped with a warning and kept in `extras` under its
  source label; a domain nobody maps, and a conditional dataset's missing condition text,
  are filled from the data file and listed in `extras["defaulted"]`.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import yaml
from marshmallow import ValidationError
from marshmallow import fields as ma

from schemas import Message, dataset_schema, message, vocab
from schemas.base import VocabTerm
from schemas.bounds import MAX_JSON_DEPTH, too_deep

from .base import HarvestSourceError, SourceRecord, stable_name
from .labels import field_for, relabel
from .outbound import OutboundError, Reach
from .spreadsheet_io import detect_encoding
from .values import clean, map_term, map_terms

RULES_FILE = Path(__file__).parent / "data" / "cnportal.yaml"
DEFAULT_PREFIX = "cnportal"
OPEN_TYPE_OR_CONDITION = "open_type_or_condition"
DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
TAG = re.compile(r"<[^>]*>")
PHONE_SEPARATORS = re.compile(r"[、,，;；/]|\s{2,}")


@dataclass(frozen=True)
class Rules:
    """data/cnportal.yaml."""

    labels: dict[str, str]
    record_lists: tuple[str, ...]
    ignore_files: frozenset[str]
    single_value: re.Pattern[str]
    list_item: re.Pattern[str]
    keyword_separators: re.Pattern[str]
    drop_if_invalid: frozenset[str]
    shared_url_records: int
    identity_fields: tuple[str, ...]
    condition_in_description: re.Pattern[str] | None
    default_open_condition: str
    default_open_condition_without_page: str
    missing_domain: str | None


@cache
def load_rules(path: Path = RULES_FILE) -> Rules:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    missing_domain = raw.get("missing_domain")
    if missing_domain:
        missing_domain = vocab("domains").resolve(missing_domain)
        if missing_domain is None:
            raise ValueError(f"{path.name}: missing_domain {raw['missing_domain']!r} is no domain")
    pattern = raw.get("condition_in_description")
    return Rules(
        labels=dict(raw.get("labels") or {}),
        record_lists=tuple(raw.get("record_lists") or ()),
        ignore_files=frozenset(name.casefold() for name in raw.get("ignore_files") or ()),
        single_value=re.compile("|".join(map(re.escape, raw["single_value_separators"]))),
        list_item=re.compile(raw["list_pattern"]),
        keyword_separators=re.compile(raw["keyword_separators"]),
        drop_if_invalid=frozenset(raw.get("drop_if_invalid") or ()),
        shared_url_records=int(raw["shared_url_records"]),
        identity_fields=tuple(raw["identity_fields"]),
        condition_in_description=re.compile(pattern) if pattern else None,
        default_open_condition=raw["default_open_condition"],
        default_open_condition_without_page=raw["default_open_condition_without_page"],
        missing_domain=missing_domain or None,
    )


class CnPortalHarvester:
    """Harvests Chinese portal JSON exports from `path` (a file or a folder of files).

    Options:
    - prefix: prefix of harvested names (default: each file's stem, as a slug).
    - labels: the source's own labels, {label: profile field}; they win over the data file.
    - since: a date or ISO string (an incremental run): leave out datasets whose 更新时间 is
      older; a dataset without one is always kept.
    - reach: what may be read (`outbound.Reach`); exports are local files, read only when
      it allows local files (a path typed at the command line).
    """

    name = "cnportal"

    def __init__(
        self,
        path: str | Path,
        *,
        prefix: str | None = None,
        labels: Mapping[str, str] | None = None,
        since: date | str | None = None,
        reach: Reach | None = None,
    ) -> None:
        self.path = Path(path)
        self.reach = reach or Reach()
        self.prefix = _slug(prefix) if prefix else None
        self.rules = load_rules()
        self.labels = {**self.rules.labels, **(labels or {})}
        self.since = _since(since)

    def records(self) -> Iterator[SourceRecord]:
        organizations: dict[str, SourceRecord] = {}
        datasets: list[SourceRecord] = []
        for file in self._files():
            mapper = RecordMapper(self.prefix or _slug(file.stem), self.labels, self.rules)
            records = mapper.export(file.name, read_export(file, self.rules))
            for name, organization in mapper.organizations.items():
                organizations.setdefault(name, organization)
            datasets += (
                [r for r in records if r.data.get("modified", self.since) >= self.since]
                if self.since
                else records
            )
        yield from organizations.values()  # publishers first, each once
        yield from datasets

    def _files(self) -> list[Path]:
        try:
            self.reach.local_path(str(self.path))
        except OutboundError as error:
            reason = error.describe()
            raise _source_error(reason["zh"], reason["en"], self.path) from error
        if self.path.is_dir():
            files = sorted(
                p
                for p in self.path.iterdir()
                if p.suffix.lower() == ".json" and p.name.casefold() not in self.rules.ignore_files
            )
            if not files:
                raise _source_error(
                    f"文件夹 {self.path} 中没有 JSON 文件",
                    f"There is no JSON file in the folder {self.path}.",
                    self.path,
                )
            return files
        if not self.path.is_file():
            raise _source_error(
                f"找不到文件或文件夹：{self.path}",
                f"No such file or folder: {self.path}",
                self.path,
            )
        return [self.path]


# --- reading -------------------------------------------------------------------------


def _too_deep(path: Path) -> HarvestSourceError:
    return _source_error(
        f"{path.name} 的 JSON 嵌套超过 {MAX_JSON_DEPTH} 层，拒绝读取",
        f"{path.name}: the JSON is nested more than {MAX_JSON_DEPTH} levels deep; refused.",
        path,
    )


def read_export(path: Path, rules: Rules | None = None) -> list[Any]:
    """The records of one export: every JSON value in the file, one after another (arrays
    back to back, with or without whitespace between), each an array of records or an
    object holding one under a key of `rules.record_lists`."""
    rules = rules or load_rules()
    text = _decode(path)
    decoder = json.JSONDecoder()
    records: list[Any] = []
    end, position = len(text), 0
    while True:
        while position < end and text[position].isspace():
            position += 1
        if position >= end:
            return records
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise _source_error(
                f"{path.name} 第 {error.lineno} 行第 {error.colno} 列不是有效的 JSON：{error.msg}",
                f"{path.name}, line {error.lineno} column {error.colno}: "
                f"not valid JSON ({error.msg}).",
                path,
            ) from error
        except RecursionError as error:  # nested deeper than the parser goes
            raise _too_deep(path) from error
        if too_deep(value):  # the mapping walks records recursively: keep it off the stack limit
            raise _too_deep(path)
        records.extend(_record_list(value, path, rules))


def _record_list(value: Any, path: Path, rules: Rules, depth: int = 0) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and depth < 2:
        for key in rules.record_lists:
            if isinstance(value.get(key), list | dict):
                return _record_list(value[key], path, rules, depth + 1)
    keys = "、".join(rules.record_lists)
    raise _source_error(
        f"{path.name} 中的 JSON 既不是记录数组，也没有在 {keys} 下给出记录数组",
        f"{path.name}: the JSON is no array of records and holds none under "
        f"{', '.join(rules.record_lists)}.",
        path,
    )


def _decode(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise _source_error(
            f"无法读取 {path}：{error}", f"Cannot read {path}: {error}", path
        ) from error
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode(detect_encoding(raw, path.name))


# --- mapping -------------------------------------------------------------------------


@dataclass
class _Mapped:
    """One record on its way: the profile fields, and what the harvester learned about it."""

    position: int
    raw: Any
    data: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, str] = field(default_factory=dict)
    warnings: list[Message] = field(default_factory=list)
    url: str | None = None
    identity: str = ""
    publisher: str | None = None  # its title

    @cached_property
    def content(self) -> str:
        """The record as it came, for telling repeats apart."""
        return json.dumps(self.raw, ensure_ascii=False, sort_keys=True, default=str)


class RecordMapper:
    """Maps the records of one export (one portal) onto the profile."""

    def __init__(self, prefix: str, labels: Mapping[str, str], rules: Rules) -> None:
        self.prefix = prefix
        self.labels = labels
        self.rules = rules
        self.schema_fields = dataset_schema().fields
        self.organizations: dict[str, SourceRecord] = {}  # publishers met, by name
        self._field_of_label: dict[str, str | None] = {}
        self._kinds: dict[str, tuple[str, str]] = {}

    def export(self, file_name: str, raw_records: list[Any]) -> list[SourceRecord]:
        mapped = [self.record(raw, n) for n, raw in enumerate(raw_records, start=1)]
        self._name(mapped)
        out: list[SourceRecord] = []
        kept: dict[str, _Mapped] = {}  # name → first record of that name
        for item in mapped:
            name = item.data.get("name")
            first = kept.get(name) if name else None
            if first is not None and first.content == item.content:
                first.warnings.append(
                    message(
                        f"此记录在 {file_name} 中又出现于 #{item.position}，内容相同，已跳过重复项",
                        f"This record appears again at {file_name}:#{item.position} with the "
                        "same content; the repeat was skipped.",
                    )
                )
                continue
            if first is None and name:
                kept[name] = item
            out.append(item)
        records = []
        for item in out:
            where = f"{file_name}:#{item.position}"
            if item.publisher and item.data["publisher"] not in self.organizations:
                organization = {"name": item.data["publisher"], "title": item.publisher}
                self.organizations[organization["name"]] = SourceRecord(
                    "organization", organization, where
                )
            records.append(SourceRecord("dataset", item.data, where, tuple(item.warnings)))
        return records

    def record(self, raw: Any, position: int) -> _Mapped:
        item = _Mapped(position, raw)
        if isinstance(raw, dict):
            try:
                self._map(item)
                return item
            except Exception as error:  # one odd record must not end the harvest
                problem = message(
                    f"无法读取该记录（{type(error).__name__}: {error}）",
                    f"Could not read this record ({type(error).__name__}: {error}).",
                )
        else:
            problem = message(
                f"该记录不是 JSON 对象（{type(raw).__name__}），无法读取",
                f"This record is not a JSON object ({type(raw).__name__}); it cannot be read.",
            )
        # Yielded all the same, so that the report lists it as failed, at its place.
        item = _Mapped(position, raw, warnings=[problem])
        item.identity = "sha1:" + _digest(item.content)
        return item

    def _map(self, item: _Mapped) -> None:
        raw: dict[str, Any] = item.raw
        mapped, unmapped = relabel(raw, self.labels)
        for label, value in unmapped.items():
            text = _as_text(value)
            if text:
                item.extras[str(label)] = text
        for name, value in mapped.items():
            before = len(item.warnings)
            self._field(item, name, value)
            if len(item.warnings) > before:  # something could not be carried: keep it raw
                item.extras[self._label(raw, name)] = _as_text(value)
        item.url = _text(mapped.get("landing_page"))  # raw: names the record even if invalid
        self._openness(item)
        self._domain(item)
        publisher = item.data.pop("publisher_title", None)
        if publisher:
            item.data["publisher"] = stable_name(self.prefix, publisher)
            item.publisher = publisher
        identity = [_as_text(mapped.get(f)) for f in self.rules.identity_fields]
        item.identity = "sha1:" + _digest(
            json.dumps(identity, ensure_ascii=False) if any(identity) else item.content
        )

    def _field(self, item: _Mapped, name: str, value: Any) -> None:
        """One mapped value into the profile field `name`, by the kind of that field."""
        data, warnings = item.data, item.warnings
        kind, vocabulary = self._kind(name)
        if kind == "either":
            text = _text(value)
            code = vocab("open_types").resolve(text) if text else None
            if code:
                data.setdefault("open_type", code)
            elif text:
                data.setdefault("open_condition", text)
            return
        if kind == "term":
            result: Any = self._one_term(vocabulary, value, name, warnings)
        elif kind == "terms":
            result = map_terms(vocabulary, self._items(value), name, warnings)
        elif kind == "words":
            result = self._keywords(value, name, warnings)
        elif kind == "date":
            day = _date(value, name, warnings)
            result = day.isoformat() if day else None
        elif kind == "count":
            result = _count(value, name, warnings)
        elif kind == "phone":
            result = self._phone(value, warnings)
        else:  # text: title, description, publisher_title, landing_page …
            result = _text(value)
        if result is None or result == []:
            return
        data[name] = result
        if name in self.rules.drop_if_invalid:
            self._drop_if_invalid(item, name)

    def _kind(self, name: str) -> tuple[str, str]:
        """What kind of value the profile field `name` takes, read from the dataset schema:
        (term | terms | words | date | count | phone | either | text, its vocabulary)."""
        if name not in self._kinds:
            schema_field = self.schema_fields.get(name)
            inner = getattr(schema_field, "inner", None)
            if name == OPEN_TYPE_OR_CONDITION:
                kind = ("either", "open_types")
            elif isinstance(schema_field, VocabTerm):
                kind = ("term", schema_field.vocabulary)
            elif isinstance(inner, VocabTerm):
                kind = ("terms", inner.vocabulary)
            elif isinstance(schema_field, ma.List):
                kind = ("words", "")
            elif isinstance(schema_field, ma.Date):
                kind = ("date", "")
            elif isinstance(schema_field, ma.Integer):
                kind = ("count", "")
            elif name == "contact_phone":
                kind = ("phone", "")
            else:
                kind = ("text", "")
            self._kinds[name] = kind
        return self._kinds[name]

    def _one_term(self, vocabulary: str, value: Any, name: str, warnings: list[Message]) -> Any:
        """The code of a one-value field; of several values (城建住房,科技创新) the first that
        maps, with a warning."""
        text = _text(value)
        if text is None:
            return None
        if not self.rules.single_value.search(text):  # the usual case: one value
            return map_term(vocabulary, text, name, warnings)
        parts = [p for p in (clean(p) for p in self.rules.single_value.split(text)) if p]
        codes = [map_term(vocabulary, part, name, warnings) for part in parts]
        kept = next((c for c in codes if c), None)
        if kept and len(parts) > 1:
            warnings.append(
                message(
                    f"{name}：「{text}」有多个值，只保留「{vocab(vocabulary).label(kept)}」",
                    f"{name}: {text!r} holds several values; only {kept!r} was kept.",
                )
            )
        return kept

    def _items(self, value: Any) -> list[Any]:
        """A list given as a list, a comma string or a Python list in a string."""
        if isinstance(value, list):
            return value
        text = _text(value)
        return self.rules.list_item.findall(text) if text else []

    def _keywords(self, value: Any, name: str, warnings: list[Message]) -> list[str]:
        if isinstance(value, list):
            parts = [_as_text(v) for v in value]
        else:
            parts = self.rules.keyword_separators.split(_as_text(value))
        words = list(dict.fromkeys(w for w in (clean(p) for p in parts) if w))
        inner = self.schema_fields[name].inner  # type: ignore[attr-defined]
        kept = []
        for word in words:
            try:
                kept.append(inner.deserialize(word))
            except ValidationError:
                warnings.append(
                    message(
                        f"{name}：「{word[:20]}…」无效（过长），已忽略",
                        f"{name}: {word[:20]!r}… is not valid (too long); dropped.",
                    )
                )
        return kept

    def _phone(self, value: Any, warnings: list[Message]) -> str | None:
        """The first of several numbers (2522979、2524989)."""
        text = _text(value)
        if text is None:
            return None
        numbers = [n.strip() for n in PHONE_SEPARATORS.split(text) if n.strip()]
        if len(numbers) > 1:
            warnings.append(
                message(
                    f"contact_phone：「{text}」有多个号码，只保留第一个",
                    f"contact_phone: {text!r} holds several numbers; the first was kept.",
                )
            )
        return numbers[0] if numbers else None

    def _drop_if_invalid(self, item: _Mapped, name: str) -> None:
        try:
            self.schema_fields[name].deserialize(item.data[name])
        except ValidationError:
            value = item.data.pop(name)
            item.warnings.append(
                message(
                    f"{name}：「{value}」无效，已忽略",
                    f"{name}: {value!r} is not valid; dropped.",
                )
            )

    def _openness(self, item: _Mapped) -> None:
        """有条件开放 needs a condition: from the description, else the default text."""
        data = item.data
        if data.get("open_type") != "conditional" or data.get("open_condition"):
            return
        pattern = self.rules.condition_in_description
        found = pattern.search(data.get("description", "")) if pattern else None
        if found:
            data["open_condition"] = found.group("condition").strip()
            return
        if item.url:
            data["open_condition"] = self.rules.default_open_condition.format(landing_page=item.url)
        else:
            data["open_condition"] = self.rules.default_open_condition_without_page
        _defaulted(item, "open_condition")

    def _domain(self, item: _Mapped) -> None:
        if item.data.get("domain") or not self.rules.missing_domain:
            return
        item.data["domain"] = self.rules.missing_domain
        label = vocab("domains").label(self.rules.missing_domain)
        item.warnings.append(
            message(
                f"domain：源记录没有可识别的领域，按「{label}」登记",
                f"domain: the record names no known domain; registered as "
                f"{self.rules.missing_domain!r}.",
            )
        )
        _defaulted(item, "domain")

    def _label(self, raw: Mapping[str, Any], name: str) -> str:
        """The source label that filled the profile field `name` (for extras)."""
        for label in raw:
            if label not in self._field_of_label:
                self._field_of_label[label] = field_for(label, self.labels)
            if self._field_of_label[label] == name:
                return str(label)
        return name

    def _name(self, mapped: list[_Mapped]) -> None:
        """Names, landing pages and source ids: by detail URL where it names one record."""
        by_url: dict[str, list[_Mapped]] = defaultdict(list)
        for item in mapped:
            if item.url:
                by_url[item.url].append(item)
        shared = {
            url
            for url, items in by_url.items()
            if len(items) >= self.rules.shared_url_records
            and len({i.content for i in items}) >= self.rules.shared_url_records
        }
        for item in mapped:
            extras = item.extras
            if item.url and item.url not in shared:
                item.data["name"] = stable_name(self.prefix, item.url)
                extras["source_id"] = item.url
            else:
                item.data["name"] = stable_name(self.prefix, item.identity)
                item.data.pop("landing_page", None)
                if item.url:
                    extras["source_url"] = item.url
                    item.warnings.append(
                        message(
                            f"详情页网址「{item.url}」为 {len(by_url[item.url])} 条记录共用，"
                            "不作为数据集标识，也不作为详情页",
                            f"The detail URL {item.url!r} is shared by "
                            f"{len(by_url[item.url])} records: it names none of them and is "
                            "no landing page.",
                        )
                    )
            if isinstance(item.raw, dict):
                extras["portal"] = self.prefix
                item.data["extras"] = dict(sorted(extras.items()))


def _defaulted(item: _Mapped, name: str) -> None:
    done = item.extras.get("defaulted")
    item.extras["defaulted"] = f"{done}, {name}" if done else name


# --- values --------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """Clean text (placeholders are empty); HTML as its text (毕节's <p>…</p> summaries)."""
    if value is None or isinstance(value, list | dict):
        return clean(_as_text(value)) if value else None
    text = value if isinstance(value, str) else str(value)
    if "<" in text and TAG.search(text):
        text = html.unescape(TAG.sub(" ", text))
        text = "\n".join(" ".join(line.split()) for line in text.splitlines())
        text = re.sub(r"\n{2,}", "\n", text)
    return clean(text)


def _as_text(value: Any) -> str:
    """A raw value as text for extras: text as it is, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value, ensure_ascii=False)


def _date(value: Any, name: str, warnings: list[Message]) -> date | None:
    """2022-06-12, 2022-06-12 06:57:02, 2023/06/12 17:33:10, 2021年7月2日, or epoch
    seconds / milliseconds (China time)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        seconds = value / 1000 if value > 1e11 else value
        try:
            return (datetime.fromtimestamp(seconds, UTC) + timedelta(hours=8)).date()
        except (OverflowError, OSError, ValueError):
            pass
    text = _text(value)
    if text is None:
        return None
    found = DATE.search(text)
    if found:
        try:
            return date(*map(int, found.groups()))
        except ValueError:
            pass
    warnings.append(
        message(f"{name}：「{text}」不是日期，已忽略", f"{name}: {text!r} is not a date; dropped.")
    )
    return None


def _count(value: Any, name: str, warnings: list[Message]) -> int | None:
    """121,265 → 121265."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    text = _text(value)
    if text is None:
        return None
    digits = text.replace(",", "").replace("，", "").replace(" ", "")
    if digits.isdigit():
        return int(digits)
    warnings.append(
        message(
            f"{name}：「{text}」不是非负整数，已忽略",
            f"{name}: {text!r} is not a whole number; dropped.",
        )
    )
    return None


def _since(value: date | str | None) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.isoformat()[:10]
    found = DATE.match(str(value).strip())
    if not found:
        raise ValueError(f"since: {value!r} is not an ISO date or datetime")
    return date(*map(int, found.groups())).isoformat()


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _slug(text: str) -> str:
    """A prefix that keeps names valid slugs: guizhou_guiyang stays, 贵阳 → cnportal."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    return slug or DEFAULT_PREFIX


def _source_error(zh: str, en: str, path: Path) -> HarvestSourceError:
    return HarvestSourceError(message(zh, en), str(path))
