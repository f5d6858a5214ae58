"""What each consumed event becomes: the notification kind, the facts shown in the customer's
Notifications table, the variables its templates may use, and the channels it asks for. No I/O.

Payloads are those of docs/decisions/0010-money-path-contracts.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from notification.domain.model import Channel, Kind

# Variables every template may use besides the event's own fields.
RECIPIENT_VARIABLES = frozenset({"kind", "customerId", "firstName", "lastName", "customerName"})

EVENT_FIELDS: dict[Kind, frozenset[str]] = {
    Kind.THRESHOLD_CROSSED: frozenset({"balanceGroupId", "billingProfileId", "resource", "creditProfile", "threshold",
                                       "value", "balance", "channels", "cycleId", "crossedAt"}),
    Kind.INVOICE_ISSUED: frozenset({"invoiceId", "number", "billingProfileId", "billId", "amount", "taxAmount",
                                    "dueAmount", "currency", "dueDate", "issuedAt"}),
    Kind.PAYMENT_FAILED: frozenset({"invoiceId", "number", "billingProfileId", "amount", "currency", "method",
                                    "reason", "reasonCode", "attempt", "nextAttemptAt", "failedAt"}),
    Kind.EMAIL_VERIFICATION: frozenset({"email", "name", "link", "expiresAt"}),
    Kind.PASSWORD_RESET: frozenset({"email", "name", "link", "expiresAt"}),
}

EVENT_TYPES = ("balance.threshold_crossed", "billing.invoice_issued", "billing.payment_failed",
               "selfcare.email_requested")
ACCOUNT_EMAILS = {"verification": Kind.EMAIL_VERIFICATION, "password_reset": Kind.PASSWORD_RESET}


def template_variables(kind: Kind) -> frozenset[str]:
    return EVENT_FIELDS[kind] | RECIPIENT_VARIABLES


class UnknownEvent(ValueError):
    pass


@dataclass(frozen=True)
class Trigger:
    """One consumed event, read: who, what, which channels, and the facts of the Notifications table."""

    kind: Kind
    event_type: str
    customer_id: int
    triggered_at: str
    channels: list[str]
    variables: dict[str, Any]
    resource: str | None = None
    threshold: dict[str, Any] | None = None
    threshold_value: str | None = None
    # Account emails go to the address the customer typed, not to a stored contact.
    email: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def transactional(self) -> bool:
        """Verification and password-reset emails ignore opt-outs: the customer asked for them."""
        return self.kind in (Kind.EMAIL_VERIFICATION, Kind.PASSWORD_RESET)


def read_event(event_type: str, data: dict[str, Any], event_time: str) -> Trigger:
    """The trigger of a consumed event. Raises UnknownEvent for a payload it cannot use."""
    try:
        customer_id = int(data["customerId"])
        if event_type == "balance.threshold_crossed":
            return Trigger(Kind.THRESHOLD_CROSSED, event_type, customer_id, data["crossedAt"],
                           list(data.get("channels") or []), _variables(Kind.THRESHOLD_CROSSED, data),
                           resource=data["resource"], threshold=dict(data["threshold"]),
                           threshold_value=str(data["value"]))
        if event_type == "billing.invoice_issued":
            return Trigger(Kind.INVOICE_ISSUED, event_type, customer_id, data["issuedAt"],
                           [Channel.EMAIL.value, Channel.WEBHOOK.value], _variables(Kind.INVOICE_ISSUED, data),
                           resource=data["currency"])
        if event_type == "billing.payment_failed":
            return Trigger(Kind.PAYMENT_FAILED, event_type, customer_id, data["failedAt"],
                           [Channel.EMAIL.value, Channel.WEBHOOK.value], _variables(Kind.PAYMENT_FAILED, data),
                           resource=data["currency"])
        if event_type == "selfcare.email_requested":
            kind = ACCOUNT_EMAILS[data["kind"]]
            return Trigger(kind, event_type, customer_id, event_time or data.get("expiresAt", ""),
                           [Channel.EMAIL.value], _variables(kind, data), email=data["email"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UnknownEvent(f"{event_type} without a usable {exc}") from exc
    raise UnknownEvent(f"notification does not handle {event_type}")


def _variables(kind: Kind, data: dict[str, Any]) -> dict[str, Any]:
    variables = {name: data.get(name) for name in EVENT_FIELDS[kind]}
    variables.update(kind=kind.value, customerId=data.get("customerId"))
    return variables


def with_recipient(variables: dict[str, Any], contact: dict[str, Any] | None) -> dict[str, Any]:
    first = (contact or {}).get("firstName") or variables.get("name") or ""
    last = (contact or {}).get("lastName") or ""
    return {**variables, "firstName": first, "lastName": last, "customerName": f"{first} {last}".strip()}
