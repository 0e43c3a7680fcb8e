"""The plain values the client returns: stats, flush reports and what
``forget`` erased, as frozen dataclasses converted once from the generated
records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ._ffi import CairnError, DestinationConfig as _FfiDestination, DestinationKind

ROUTING_OPTIONS = ("allow_events", "deny_events", "call_types", "consent_categories")
"""The routing lists of a destination, the client's own (``Client(allow_events=...)``) or an extra one."""


def routing(prefix: str, options: Mapping[str, Any]) -> Dict[str, List[str]]:
    """The routing lists of ``options`` (by the names in :data:`ROUTING_OPTIONS`) as
    the generated records take them. A lone string, which would route by its
    letters, is refused naming ``prefix + option``."""
    lists = {}
    for option in ROUTING_OPTIONS:
        value = options[option]
        if isinstance(value, str):
            raise CairnError.InvalidConfig(
                f"invalid config `{prefix}{option}`: expected a list of strings, "
                f"got the string {value!r} (write [{value!r}])"
            )
        lists[option] = list(value)
    return lists


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
class DestinationConfig:
    """One more place a client delivers to, besides its ``endpoint`` (which is
    named ``default``): each is fed from the same buffer with its own cursor,
    batches, retries and routing, so a slow one never holds back another.
    (The same name as in Kotlin and Swift, where ``Destination`` is the
    backend format, here ``DestinationKind``.)

    >>> amplitude = DestinationConfig(  # doctest: +SKIP
    ...     "amplitude", DestinationKind.AMPLITUDE(batch_api=False, min_id_length=None),
    ...     "https://api2.amplitude.com", "AMPLITUDE_API_KEY",
    ...     allow_events=["Order *", "Signed Up"], consent_categories=["analytics"])
    >>> Client("SEGMENT_WRITE_KEY", endpoint="https://api.segment.io", destinations=[amplitude])  # doctest: +SKIP

    The core checks it when the client is created (a unique name other than
    ``default``, the URL, the key, the call types) and raises
    ``CairnError.InvalidConfig`` naming the destination that is wrong.
    """

    name: str
    """The name its delivery progress is kept under in the buffer file: keep it stable across releases."""
    kind: DestinationKind
    """The backend format it speaks: ``DestinationKind.SEGMENT()``, ``AMPLITUDE(...)`` or ``POST_HOG()``."""
    endpoint: str
    """Its base URL, ``http://`` or ``https://``."""
    key: str = field(repr=False)
    """Write key (Segment) or project API key (Amplitude, PostHog); left out of ``repr``."""
    allow_events: Sequence[str] = ()
    """Takes only events whose name is one of these (exact, or a prefix ending in ``*``); empty: every
    name. Calls without a name (identify, group, alias) are not concerned."""
    deny_events: Sequence[str] = ()
    """Never takes events whose name is one of these (exact, or a prefix ending in ``*``)."""
    call_types: Sequence[str] = ()
    """Takes only these call types (``track``, ``identify``, ``alias``, ``group``, ``screen``, ``page``); empty: all."""
    consent_categories: Sequence[str] = ()
    """Takes an event only when every one of these categories was granted when it was recorded;
    revoking one purges this destination's queued events (only its own)."""
    max_batch_events: Optional[int] = None
    """Most events in one of its batches; ``None``: the client's ``max_batch_events``."""

    def _to_ffi(self, max_batch_events: Optional[int]) -> _FfiDestination:
        return _FfiDestination(
            name=self.name,
            kind=self.kind,
            endpoint=self.endpoint,
            key=self.key,
            max_batch_events=max_batch_events,
            **routing(f"destinations.{self.name}.", vars(self)),
        )


@dataclass(frozen=True)
class RoomWaits:
    """How long event calls waited for room in the queue (a full queue means the disk is behind)."""

    calls: int = 0
    """Event calls that found the queue full and waited."""
    total_us: int = 0
    """Their waits added up, in microseconds."""
    longest_us: int = 0
    """The longest single wait, in microseconds."""


@dataclass(frozen=True)
class DestinationStats:
    """One destination's part of :class:`Stats`, when a client has several, or one whose routing passes events over."""

    name: str
    """The destination's name (``default`` for the client's own ``endpoint``)."""
    queued_events: int
    """Events in the buffer past its cursor: not yet delivered, dropped or passed over by its routing."""
    queued_bytes: int
    """Their size in bytes."""
    in_flight_events: int
    """Events in its upload now on the wire."""
    delivered_events: int
    """Events it acknowledged since this client started."""
    skipped_events: int
    """Events its routing passed over (not for it) since this client started."""
    requests: int
    """Upload requests made to it since this client started."""
    retries: int
    """Its failed attempts scheduled for retry since this client started."""
    next_retry_in_ms: Optional[int]
    """Milliseconds until its next retry, while one is scheduled."""
    last_error: Optional[str]
    """Its last delivery error, if any."""
    last_rejection: Optional[str]
    """Its last permanent refusal."""
    auth_failed: bool
    """True once it answered 401/403: uploads to it stop, events are kept."""
    dropped: DroppedEvents
    """Its events dropped, by reason, over the life of the buffer file."""


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
    waited_for_room: RoomWaits = field(default_factory=RoomWaits)
    """How long event calls waited for room in the queue."""
    destinations: List[DestinationStats] = field(default_factory=list)
    """Each destination, when the client has more than one or its one destination has routing (its
    ``skipped_events`` then counts what the routing passed over); empty with one that takes every event:
    the fields above are then that destination's. The fields above add up every destination: queued counts the buffer file,
    delivered and requests sum over destinations, and a drop counts once for each destination that dropped it."""


def flush_report(r) -> FlushReport:
    return FlushReport(delivered=r.delivered, remaining=r.remaining)


def forgotten(f) -> Forgotten:
    return Forgotten(anonymous_ids=list(f.anonymous_ids), user_ids=list(f.user_ids), events_erased=f.events_erased)


def _dropped(d) -> DroppedEvents:
    return DroppedEvents(
        invalid=d.invalid,
        oversize=d.oversize,
        overflow=d.overflow,
        expired=d.expired,
        rejected=d.rejected,
        consent=d.consent,
        corrupt=d.corrupt,
        plan_violation=d.plan_violation,
    )


def _destination_stats(d) -> DestinationStats:
    return DestinationStats(
        name=d.name,
        queued_events=d.queued_events,
        queued_bytes=d.queued_bytes,
        in_flight_events=d.in_flight_events,
        delivered_events=d.delivered_events,
        skipped_events=d.skipped_events,
        requests=d.requests,
        retries=d.retries,
        next_retry_in_ms=d.next_retry_in_ms,
        last_error=d.last_error,
        last_rejection=d.last_rejection,
        auth_failed=d.auth_failed,
        dropped=_dropped(d.dropped),
    )


def stats(s) -> Stats:
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
        dropped=_dropped(s.dropped),
        plan_violations=[ViolationCount(c.event, c.rule, c.count) for c in s.plan_violations],
        recent_violations=[RecentViolation(r.event, r.rule, r.path, r.message) for r in s.recent_violations],
        waited_for_room=RoomWaits(s.waited_for_room.calls, s.waited_for_room.total_us, s.waited_for_room.longest_us),
        destinations=[_destination_stats(d) for d in s.destinations],
    )
