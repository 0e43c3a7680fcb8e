"""The plain values the client returns: stats, flush reports and what
``forget`` erased, as frozen dataclasses converted once from the generated
records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional


@dataclass(frozen=True)
class FlushReport:
    """What ``flush`` or ``shutdown`` achieved before it returned."""

    delivered: int
    """Events the backend acknowledged while the call waited."""
    remaining: int
    """Events still queued when it returned; they stay on disk and go out later."""


@dataclass(frozen=True)
class Forgotten:
    """What ``forget`` erased, so the app can ask the backend to delete the same user."""

    anonymous_ids: List[str]
    user_ids: List[str]
    events_erased: int


@dataclass(frozen=True)
class DroppedEvents:
    """Dropped events by reason, over the life of the buffer file."""

    invalid: int
    oversize: int
    overflow: int
    expired: int
    rejected: int
    consent: int
    corrupt: int
    plan_violation: int = 0
    """Events dropped by the tracking plan (``drop`` policy, ``unplanned: drop``, or refused in strict mode)."""

    @property
    def total(self) -> int:
        """All drops together."""
        return (
            self.invalid + self.oversize + self.overflow + self.expired + self.rejected + self.consent + self.corrupt
            + self.plan_violation
        )


@dataclass(frozen=True)
class ViolationCount:
    """How many times one event broke one rule of the tracking plan."""

    event: str
    rule: str
    count: int


@dataclass(frozen=True)
class RecentViolation:
    """One recent violation of the tracking plan: where (``path``, e.g. ``properties.price``) and what."""

    event: str
    rule: str
    path: str
    message: str


@dataclass(frozen=True)
class Stats:
    """A snapshot of the queue, delivery and drops; taking it never touches disk."""

    queued_events: int
    queued_bytes: int
    oldest_queued_age_ms: Optional[int]
    memory_events: int
    in_flight_events: int
    delivered_events: int
    requests: int
    retries: int
    next_retry_in_ms: Optional[int]
    last_error: Optional[str]
    last_rejection: Optional[str]
    auth_failed: bool
    storage_error: Optional[str]
    dropped: DroppedEvents
    plan_violations: List[ViolationCount] = field(default_factory=list)
    """Tracking-plan violations per event and rule, over the life of the buffer file."""
    recent_violations: List[RecentViolation] = field(default_factory=list)
    """The latest tracking-plan violations (at most 10), oldest first."""


def flush_report(r) -> FlushReport:
    return FlushReport(delivered=r.delivered, remaining=r.remaining)


def forgotten(f) -> Forgotten:
    return Forgotten(anonymous_ids=list(f.anonymous_ids), user_ids=list(f.user_ids), events_erased=f.events_erased)


def stats(s) -> Stats:
    d = s.dropped
    return Stats(
        queued_events=s.queued_events,
        queued_bytes=s.queued_bytes,
        oldest_queued_age_ms=s.oldest_queued_age_ms,
        memory_events=s.memory_events,
        in_flight_events=s.in_flight_events,
        delivered_events=s.delivered_events,
        requests=s.requests,
        retries=s.retries,
        next_retry_in_ms=s.next_retry_in_ms,
        last_error=s.last_error,
        last_rejection=s.last_rejection,
        auth_failed=s.auth_failed,
        storage_error=s.storage_error,
        dropped=DroppedEvents(
            invalid=d.invalid,
            oversize=d.oversize,
            overflow=d.overflow,
            expired=d.expired,
            rejected=d.rejected,
            consent=d.consent,
            corrupt=d.corrupt,
            plan_violation=d.plan_violation,
        ),
        plan_violations=[ViolationCount(c.event, c.rule, c.count) for c in s.plan_violations],
        recent_violations=[RecentViolation(r.event, r.rule, r.path, r.message) for r in s.recent_violations],
    )
