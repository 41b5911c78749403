"""Limits a tenant may be given its own figure of (JOBLEDGER_TENANT_LIMITS), in place of the
service-wide setting: a tenant that needs more is given more without raising every tenant's."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from jobledger.domain import errors

OWN_SETTING = "JOBLEDGER_TENANT_LIMITS"  #: the setting that names a tenant's own figure

T = TypeVar("T")


@dataclass(frozen=True)
class PerTenant(Generic[T]):
    """One limit: its service-wide figure and the setting that gives it, and the tenants given their own."""

    default: T
    setting: str  #: the environment variable of the service-wide figure
    own: Mapping[str, T] = field(default_factory=dict)

    def of(self, tenant: str) -> T:
        return self.own.get(tenant, self.default)

    def setting_of(self, tenant: str) -> str:
        """The setting that gives the tenant its figure (what an operator changes to change it)."""
        return OWN_SETTING if tenant in self.own else self.setting

    def reached(self, tenant: str, what: str) -> errors.LimitReached:
        """The refusal of one more of `what` to a tenant that has `of(tenant)` of them."""
        return errors.LimitReached(what, self.of(tenant), self.setting_of(tenant))
