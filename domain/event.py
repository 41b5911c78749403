"""The base of every domain event (domain/events.py lists them): an immutable fact, named in the past tense.

Each event class knows its stored `type` name and `schema_version`. Datetimes
travel as ISO 8601 strings in stored data; `to_data`/`from_data` convert.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

JSON = Any


@dataclass(frozen=True, slots=True)
class Event:
    type: ClassVar[str] = "Event"
    schema_version: ClassVar[int] = 1
    _datetimes: ClassVar[tuple[str, ...]] = ()
    _names: ClassVar[tuple[str, ...]] = ()  # the fields' names, set by domain/events.py for every event type: fields() is slow

    def to_data(self) -> dict[str, JSON]:
        data = {name: getattr(self, name) for name in self._names}
        for name in self._datetimes:
            if data[name] is not None:
                data[name] = data[name].isoformat()
        if "phases" in data:
            data["phases"] = list(data["phases"])
        return data

    @classmethod
    def from_data(cls, data: dict[str, JSON]) -> "Event":
        if not cls._datetimes and "phases" not in data:
            return cls(**data)  # nothing to convert (most events, progress reports among them)
        values = dict(data)
        for name in cls._datetimes:
            if values.get(name) is not None:
                values[name] = datetime.fromisoformat(values[name])
        if "phases" in values:
            values["phases"] = tuple(values["phases"])
        if values.get("depends_on") is not None:
            values["depends_on"] = tuple(values["depends_on"])
        return cls(**values)
