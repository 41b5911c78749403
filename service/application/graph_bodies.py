"""The bodies' `depends_on` (domain/dependencies.py): on POST /jobs each parent is a job id; in a batch
it may be the `ref` of another job of the batch. Either as a string, or as {job, on_failure}."""

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag

from jobledger.domain.job import Dependency

MAX_PARENTS = 100  #: jobs one job may depend on
UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
JobId = Annotated[str, Field(pattern=UUID_PATTERN, description="a job's id")]
#: a name within one batch (its job's `ref`), or a job's id: printable text
Ref = Annotated[str, Field(min_length=1, max_length=200, pattern="^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
OnFailure = Literal["cancel", "run"]
_ON_FAILURE = "if the parent fails, is cancelled or expires: cancel this job (the default), or run it anyway"
DEPENDS_ON = (
    "jobs this one runs after: it is `waiting` until they have all completed (README, Dependencies); "
    "each a job id, or {job, on_failure}"
)
BATCH_DEPENDS_ON = "as POST /jobs's, where a parent is the `ref` of a job of the batch, else a job's id"


class ParentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job: JobId
    on_failure: OnFailure = Field("cancel", description=_ON_FAILURE)


class BatchParentBody(ParentBody):
    job: Ref = Field(description="the `ref` of a job of the batch, else a job's id")


def parent(item: str | ParentBody) -> tuple[str, str]:
    """(the parent's id or reference, on_failure) of one item of `depends_on`."""
    return (item, "cancel") if isinstance(item, str) else (item.job, item.on_failure)


def _each_once(depends_on: list) -> list:
    seen = [parent(item)[0] for item in depends_on]
    twice = next((job for i, job in enumerate(seen) if job in seen[:i]), None)
    if twice is not None:
        raise ValueError(f"{twice} is listed twice")
    return depends_on


def _form(item: object) -> str:
    return "id" if isinstance(item, str) else "edge"  # an error then names `depends_on.0.id` or `depends_on.0.edge.job`


_ONE = Discriminator(_form)
DependsOn = Annotated[
    list[Annotated[Annotated[JobId, Tag("id")] | Annotated[ParentBody, Tag("edge")], _ONE]],
    Field(max_length=MAX_PARENTS), AfterValidator(_each_once),
]
BatchDependsOn = Annotated[
    list[Annotated[Annotated[Ref, Tag("id")] | Annotated[BatchParentBody, Tag("edge")], _ONE]],
    Field(max_length=MAX_PARENTS), AfterValidator(_each_once),
]


def parents(depends_on: list[str | ParentBody]) -> tuple[Dependency, ...]:
    """POST /jobs's `depends_on` as the command takes it."""
    return tuple(Dependency(UUID(job), on_failure) for job, on_failure in map(parent, depends_on))
