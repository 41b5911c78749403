"""Scalars and free-form JSON as the OpenAPI document states them, and as the bodies validate them
(application.bodies): RFC 3339 times, integers as JSON Schema has them, text and JSON that
PostgreSQL can store. One definition serves the validation and the document, so they agree."""

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StringConstraints, WithJsonSchema

from jobledger.eventlog import metadata as metadata_index


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range once converted to UTC") from None


#: RFC 3339's date-time (the OpenAPI document's `format: date-time`): not a number, not a date alone
_DATE_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$")


def _date_time(value: Any) -> datetime:
    found = _DATE_TIME.match(value) if isinstance(value, str) else None
    if found is None:
        raise ValueError("expected an RFC 3339 date-time with its offset, e.g. 2030-01-01T12:00:00Z")
    fraction = found.group(1) or ""
    text = value.upper().replace(fraction, fraction[:7], 1)  # microseconds: Python keeps no finer
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # 2030-02-30, 25:00
        raise ValueError("not a date-time that exists") from None


#: a time with its offset that can be moved to UTC; validated as the UTC time
UtcTime = Annotated[AwareDatetime, BeforeValidator(_date_time), AfterValidator(_in_utc)]


def _integral(value: Any) -> Any:
    """JSON Schema's integer is any number without a fraction (5.0 too); strict parsing takes only 5."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def json_int(ge: int, le: int) -> Any:
    """An integer in [ge, le], as JSON Schema has it: 5 or 5.0, never "5" or false. (The bounds go
    before the validator, or pydantic leaves them out of the JSON Schema.)"""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_integral)]

#: free-form JSON (payloads, metadata, results, details) as both backends store it alike; the
#: OpenAPI document's `Json` (jobledger.web.openapi). Sizes and nesting are checked too (`Limits`).
NO_NUL = "^[^\\u0000]*$"
JSON_REF = "#/components/schemas/Json"
JSON_SCHEMA = {
    "description": "any JSON without NUL characters and with integers of 64 bits (PostgreSQL stores no other)",
    "anyOf": [
        {"type": "null"},
        {"type": "boolean"},
        {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1},
        {"type": "number", "not": {"type": "integer"}},
        {"type": "string", "pattern": NO_NUL},
        {"type": "array", "items": {"$ref": JSON_REF}},
        {"type": "object", "propertyNames": {"pattern": NO_NUL}, "additionalProperties": {"$ref": JSON_REF}},
    ],
}
def text(max_length: int, min_length: int = 0) -> Any:
    """A string of at most `max_length` characters without NUL (PostgreSQL stores none), as the document says."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length, json_schema_extra={"pattern": NO_NUL})]


Json = Annotated[Any, WithJsonSchema({"allOf": [{"$ref": JSON_REF}]})]  # allOf: pydantic resolves a bare $ref
JsonObject = Annotated[
    dict[str, Any],
    WithJsonSchema({"type": "object", "propertyNames": {"pattern": NO_NUL}, "additionalProperties": {"$ref": JSON_REF}}),
]


MAX_METADATA_FILTERS = 8  #: metadata pairs one filter may name (a list's query, a subscription, a bulk action)
#: a metadata filter: the values a job's metadata must all hold (eventlog/metadata.py says what matches)
MetadataFilter = Annotated[
    dict[
        Annotated[str, StringConstraints(min_length=1, max_length=metadata_index.MAX_KEY, pattern=NO_NUL)],
        Annotated[str, StringConstraints(max_length=metadata_index.MAX_VALUE, pattern=NO_NUL)],
    ],
    Field(max_length=MAX_METADATA_FILTERS),
]
