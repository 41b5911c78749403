"""The bodies of the webhook routes (web/webhook_routes.py)."""

from typing import Annotated, Literal

from pydantic import Field

from jobledger.application import bodies
from jobledger.domain.events import EVENT_TYPES

#: the job events an endpoint may ask for (a webhook is sent only for jobs' events)
JobEventType = Literal[tuple(EVENT_TYPES)]  # type: ignore[valid-type]
Url = Annotated[str, Field(min_length=1, max_length=2000, pattern="^https?://[^\\x00-\\x20\\x7f]+$")]
EventTypes = Annotated[list[JobEventType], Field(min_length=1, max_length=len(EVENT_TYPES))]
JobTypes = Annotated[list[bodies.Name], Field(min_length=1, max_length=100)]
Description = bodies.text(1000)


class CreateWebhookBody(bodies.Body):
    url: Url = Field(description="where deliveries are POSTed: http(s), a global address unless the service allows others")
    event_types: EventTypes | None = Field(None, description="the job events sent; absent or null: every one")
    job_types: JobTypes | None = Field(None, description="only the events of jobs of these types; absent or null: every type")
    description: Description | None = None


class UpdateWebhookBody(bodies.Body):
    """What to change; a field left out keeps its value (null for a filter: every event or type)."""

    url: Url = Field(  # type: ignore[assignment]
        None, description="where deliveries go from now on (not null: an endpoint always has one)",
        json_schema_extra=lambda schema: schema.pop("default", None),  # left out: unchanged; no null to document
    )
    event_types: EventTypes | None = None
    job_types: JobTypes | None = None
    description: Description | None = None
    enabled: bool | None = Field(None, description="false: disable (nothing is sent); true: enable again")


class DeliveriesQuery(bodies.Body):
    limit: Annotated[int, Field(ge=1, le=500)] = 50
