"""Building blocks shared by the profile's schemas: bilingual errors, vocabulary fields."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, ValidationError, fields, missing, validate

from .bounds import is_email
from .messages import FIELD_MESSAGES, SCHEMA_MESSAGES, Message, message
from .vocab import vocab

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{1,99}$")
PHONE = re.compile(r"^[0-9+\-() ]{5,30}$")


def bilingual(check: validate.Validator, msg: Message) -> Callable[[Any], None]:
    """Run one of marshmallow's validators, replacing its English message with `msg`."""

    def run(value: Any) -> None:
        try:
            check(value)
        except ValidationError as error:
            raise ValidationError([msg]) from error

    return run


class ProfileSchema(Schema):
    """Base of every profile schema: unknown keys are errors, every message bilingual."""

    class Meta:
        unknown = RAISE

    error_messages: ClassVar[dict] = dict(SCHEMA_MESSAGES)

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        _localize(field_obj)


def _localize(field_obj: fields.Field) -> None:
    for key, text in list(field_obj.error_messages.items()):
        if isinstance(text, str):
            field_obj.error_messages[key] = [FIELD_MESSAGES.get(key, FIELD_MESSAGES["invalid"])]
    for inner in (
        getattr(field_obj, "inner", None),
        getattr(field_obj, "value_field", None),
    ):
        if isinstance(inner, fields.Field):
            _localize(inner)


class Text(fields.String):
    """A string with surrounding whitespace removed; blank counts as missing."""

    def __init__(self, *, max_length: int = 2000, **kwargs: Any) -> None:
        self.max_length = max_length
        self.too_long = message(
            f"不能超过 {max_length} 个字符", f"Longer than {max_length} characters."
        )
        super().__init__(**kwargs)

    def deserialize(
        self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any
    ) -> Any:
        # A blank optional field is an absent one (forms and CKAN clients send ""): its
        # default, or no key at all; a blank required one is reported as missing.
        if isinstance(value, str) and not value.strip():
            value = missing
        return super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            raise self.make_error("required")
        # Checked here, before the validators: a pattern never sees more than the limit.
        if len(text) > self.max_length:
            raise ValidationError([self.too_long])
        return text


class VocabTerm(fields.String):
    """A controlled-vocabulary value: takes a code, a label or an alias; stores the code."""

    def __init__(self, vocabulary: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vocabulary = vocabulary

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        vocabulary = vocab(self.vocabulary)
        code = vocabulary.resolve(value) if isinstance(value, (str, int)) else None
        if code is None:
            allowed = "、".join(f"{t.code}（{t.zh}）" for t in vocabulary.terms)
            allowed_en = ", ".join(t.code for t in vocabulary.terms)
            raise ValidationError(
                [
                    message(
                        f"「{value}」不是{vocabulary.zh}的取值，可选：{allowed}",
                        f"{value!r} is not a {vocabulary.en} value; one of: {allowed_en}.",
                    )
                ]
            )
        return code


def slug(label_zh: str = "标识", label_en: str = "identifier") -> Callable[[Any], None]:
    return bilingual(
        validate.Regexp(SLUG),
        message(
            f"{label_zh}只能包含小写字母、数字、- 和 _，2–100 个字符，以字母或数字开头",
            f"The {label_en} must be 2–100 characters of a-z, 0-9, - and _, "
            "starting with a letter or digit.",
        ),
    )


def phone() -> Callable[[Any], None]:
    return bilingual(
        validate.Regexp(PHONE),
        message("不是有效的电话号码", "Not a valid phone number."),
    )


# A contact field says what it holds in its metadata ("format"), so that mappings of other
# formats can find the profile's contact fields without listing them.


def phone_field(**kwargs: Any) -> Text:
    return Text(max_length=30, validate=[phone()], metadata={"format": "phone"}, **kwargs)


def email_field(**kwargs: Any) -> Text:
    msg = message("不是有效的电子邮箱", "Not a valid email address.")
    return Text(
        max_length=254,
        validate=[_email(msg)],
        metadata={"format": "email"},
        **kwargs,
    )


def _email(msg: Message) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if not is_email(value):
            raise ValidationError([msg])

    return check


def url_field(**kwargs: Any) -> Text:
    msg = message("不是有效的网址", "Not a valid URL.")
    schemes = {"http", "https", "ftp", "ftps"}
    return Text(
        max_length=2000,
        validate=[bilingual(validate.URL(schemes=schemes), msg)],
        metadata={"format": "url"},
        **kwargs,
    )


def date_field(**kwargs: Any) -> fields.Date:
    return fields.Date(
        error_messages={
            "invalid": [message("不是有效日期（YYYY-MM-DD）", "Not a valid date (YYYY-MM-DD).")]
        },
        **kwargs,
    )


BIGINT_MAX = 2**63 - 1  # what a BIGINT column holds
INT_MAX = 2**31 - 1  # an INTEGER column (PostgreSQL)


def count_field(maximum: int = BIGINT_MAX, **kwargs: Any) -> fields.Integer:
    """A count of zero or more, up to what its column holds (more would fail the write)."""

    def check(value: int) -> None:
        if value < 0:
            raise ValidationError([message("不能为负数", "Must be zero or more.")])
        if value > maximum:
            raise ValidationError([message(f"不能大于 {maximum}", f"At most {maximum}.")])

    return fields.Integer(
        strict=False,
        validate=check,
        error_messages={"invalid": [message("应为整数", "Not a valid integer.")]},
        **kwargs,
    )


def unique_by(items: list[dict], key: str) -> list[str]:
    """Values of `key` that occur more than once, in order of first repeat."""
    seen: set[str] = set()
    repeated: list[str] = []
    for item in items:
        value = item.get(key)
        if value in seen and value not in repeated:
            repeated.append(value)
        seen.add(value)
    return repeated
