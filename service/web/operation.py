"""One row of the OpenAPI table (service/web/openapi.py): a method and path, what it takes and answers."""

from dataclasses import dataclass
from typing import Any, Callable

from pydantic import BaseModel

from jobledger.web import auth


@dataclass(frozen=True)
class Operation:
    """One method and path: what it takes and what it answers (`answer` None: no JSON body)."""

    method: str
    path: str
    handler: Callable
    summary: str
    answer: Any  #: a model, a union of models, or None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    headers: type[BaseModel] | None = None
    status: int = 200
    more: tuple[int, ...] = ()  #: other successes: the same answer (304: none)
    errors: tuple[int, ...] = ()
    etag: bool = False  #: the answer concerns one job: ETag is its version
    media: str = "application/json"
    raw: dict[str, Any] | None = None  #: the answer's schema when it is not a model
    description: str | None = None  #: what the summary and the parameters do not say

    def error_statuses(self) -> list[int]:
        found = {403, 503, *self.errors}  # 403: a foreign Host or Origin (guards), on any route
        if self.handler.jobledger_action != auth.PUBLIC:
            found |= {401, 403, 429}
        if self.body or self.query or self.headers:
            found.add(400)
        if self.body:
            found |= {408, 413, 415}
        if "{id}" in self.path:
            found.add(404)
        return sorted(found)
