"""The Python client: an idiomatic shell over the generated ``CairnClient``.

It decides only the Python side of each call (dicts to JSON text, seconds
to milliseconds, generated records to dataclasses) and keeps no state of
its own: every rule lives in the Rust core. Recording calls return in
microseconds, through the fast path of ``_record``; ``flush``, ``shutdown``,
``forget`` and ``commit`` wait up to their timeout (ctypes releases the GIL
meanwhile, so other threads run).
"""

from __future__ import annotations

import atexit as _atexit
import datetime as _dt
import time as _time
import weakref as _weakref
from typing import Any, Callable, Iterable, Mapping, Optional, Union

from . import _json, _platform, _record, _values
from ._ffi import CairnClient as _FfiClient, CairnConfig as _FfiConfig, CairnError, ConsentState, DestinationKind

Seconds = Union[float, int, _dt.timedelta]
"""A duration: seconds as a number, or a ``datetime.timedelta``."""

SHUTDOWN_AT_EXIT_TIMEOUT = 2.0
"""Seconds that the clients still open when the interpreter exits get, all
together, to deliver what they hold (each is shut down in turn; an upload on
the wire may take up to one second more). What is not delivered by then stays
in the buffer file for the next start."""

_open_clients: "_weakref.WeakSet[Client]" = _weakref.WeakSet()


def _shutdown_at_exit() -> None:
    # A script that never called shutdown() still delivers what it recorded,
    # within a bounded time, and records the answers: the next process must
    # not send the same events again. Clients inherited from a parent process
    # (fork) raise CairnError.Forked here: nothing of theirs to do.
    deadline = _time.monotonic() + SHUTDOWN_AT_EXIT_TIMEOUT
    for client in list(_open_clients):
        try:
            client.shutdown(timeout=max(0.0, deadline - _time.monotonic()))
        except CairnError:
            pass


_atexit.register(_shutdown_at_exit)


def _millis(option: str, value: Seconds, error=CairnError.InvalidConfig) -> int:
    seconds = value.total_seconds() if isinstance(value, _dt.timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds != seconds:
        raise error(f"invalid config `{option}`: expected seconds (a number or a timedelta), got {value!r}")
    if seconds < 0:
        raise error(f"invalid config `{option}`: must not be negative, got {value!r}")
    return min(int(seconds * 1000), 2**64 - 1)


def _count(option: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CairnError.InvalidConfig(f"invalid config `{option}`: expected a whole number, got {value!r}")
    if value < 0:
        raise CairnError.InvalidConfig(f"invalid config `{option}`: must not be negative, got {value}")
    return value


def _timeout(value: Seconds) -> int:
    return _millis("timeout", value, error=CairnError.InvalidEvent)


def _text(what: str, value: str) -> str:
    """``value`` if it can cross as UTF-8; anything but a ``str``, or a lone
    surrogate (half of an emoji, e.g. from a bad slice), is an InvalidEvent
    naming where it is."""
    if not isinstance(value, str):
        raise CairnError.InvalidEvent(f"invalid argument: {what} {_record.not_a_str(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise CairnError.InvalidEvent(
            f"invalid argument: {what} contains a lone surrogate ({value[e.start]!r} at index {e.start}), "
            "which is not valid Unicode: pass whole characters"
        ) from None
    return value


def _encode(root: str, value: Optional[Mapping[str, Any]], refused: Optional[Callable[[], None]] = None) -> str:
    try:
        return _json.encode(root, value)
    except _json.EncodingError as e:
        if refused is not None:
            refused()
        raise CairnError.InvalidEvent(f"invalid event: {e}") from None


def _refused_counter(ffi: _FfiClient) -> Callable[[], None]:
    def refused() -> None:
        # A call refused here never reaches the core: tell it, so it shows in
        # stats() as `invalid` like the calls the core refuses itself. The
        # caller gets the error either way, so counting never raises.
        try:
            ffi.count_invalid_call()
        except Exception:  # noqa: BLE001 - counting must not hide the caller's error
            pass

    return refused


class Client:
    """A cairn client: records analytics events into an on-disk buffer and
    delivers them in the background to a Segment-compatible ``/v1/batch``
    endpoint.

    ``destination`` picks the backend's format: ``None`` (Segment, also
    RudderStack), ``DestinationKind.AMPLITUDE(batch_api=False,
    min_id_length=None)`` or ``DestinationKind.POST_HOG()``; with Amplitude
    or PostHog, ``write_key`` is that project's API key (docs/destinations.md).
    ``destinations`` adds more places to deliver to, each a
    :class:`DestinationConfig` with its own routing (``default`` is the name of
    the one at ``endpoint``). ``allow_events``, ``deny_events``, ``call_types``
    and ``consent_categories`` route the one at ``endpoint`` itself, with the
    meaning they have on a :class:`DestinationConfig` (empty: no restriction);
    what they pass over shows as ``skipped_events`` in ``stats().destinations``.

    Only ``write_key`` and ``endpoint`` are needed; every other option left
    ``None`` takes the core's default (see docs/configuration.md). Durations
    are seconds (or ``timedelta``). One client per buffer file; it is safe to
    share between threads. Used as a context manager it shuts down (flushing
    for up to 5 seconds) on exit.

    Every call raises :class:`CairnError` (``CairnError.InvalidEvent``,
    ``CairnError.InvalidConfig``, ...) with a message that says what to fix.
    """

    def __init__(
        self,
        write_key: str,
        *,
        endpoint: Optional[str] = None,
        destination: Optional[DestinationKind] = None,
        storage_path: Optional[str] = None,
        flush_at: Optional[int] = None,
        flush_interval: Optional[Seconds] = None,
        max_batch_events: Optional[int] = None,
        max_batch_bytes: Optional[int] = None,
        max_event_bytes: Optional[int] = None,
        request_timeout: Optional[Seconds] = None,
        gzip: Optional[bool] = None,
        retry_base_delay: Optional[Seconds] = None,
        max_retry_delay: Optional[Seconds] = None,
        max_queue_events: Optional[int] = None,
        max_queue_bytes: Optional[int] = None,
        max_event_age: Optional[Seconds] = None,
        max_pending_calls: Optional[int] = None,
        record_wait: Optional[Seconds] = None,
        session_timeout: Optional[Seconds] = None,
        session_events: Optional[bool] = None,
        reset_on_user_switch: Optional[bool] = None,
        consent: Optional[Mapping[str, ConsentState]] = None,
        required_consent: Iterable[str] = (),
        context: Optional[Mapping[str, Any]] = None,
        anonymous_id: Optional[str] = None,
        platform_context: bool = True,
        tracking_plan: Optional[str] = None,
        strict_tracking_plan: Optional[bool] = None,
        destinations: Iterable[_values.DestinationConfig] = (),
        allow_events: Iterable[str] = (),
        deny_events: Iterable[str] = (),
        call_types: Iterable[str] = (),
        consent_categories: Iterable[str] = (),
    ) -> None:
        def opt(conv, name, value):
            return None if value is None else conv(name, value)

        own_routing = _values.routing(
            "",
            {
                "allow_events": allow_events,
                "deny_events": deny_events,
                "call_types": call_types,
                "consent_categories": consent_categories,
            },
        )
        extra = []
        for d in destinations:
            if not isinstance(d, _values.DestinationConfig):
                raise CairnError.InvalidConfig(
                    "invalid config `destinations`: expected "
                    f"cairn.DestinationConfig(name, kind, endpoint, key, ...), got {d!r}"
                )
            extra.append(d._to_ffi(opt(_count, f"destinations.{d.name}.max_batch_events", d.max_batch_events)))
        ctx = dict(context or {})
        if platform_context:
            ctx = _platform.merge(_platform.platform_context(), ctx)
        try:
            context_json = _json.encode("context", ctx) or None
        except _json.EncodingError as e:
            raise CairnError.InvalidConfig(f"invalid config `context`: {e}") from None
        config = _FfiConfig(
            write_key=write_key,
            endpoint=endpoint,
            destination=destination,
            storage_path=None if storage_path is None else str(storage_path),
            flush_at=opt(_count, "flush_at", flush_at),
            flush_interval_ms=opt(_millis, "flush_interval", flush_interval),
            max_batch_events=opt(_count, "max_batch_events", max_batch_events),
            max_batch_bytes=opt(_count, "max_batch_bytes", max_batch_bytes),
            max_event_bytes=opt(_count, "max_event_bytes", max_event_bytes),
            request_timeout_ms=opt(_millis, "request_timeout", request_timeout),
            gzip=gzip,
            retry_base_delay_ms=opt(_millis, "retry_base_delay", retry_base_delay),
            max_retry_delay_ms=opt(_millis, "max_retry_delay", max_retry_delay),
            max_queue_events=opt(_count, "max_queue_events", max_queue_events),
            max_queue_bytes=opt(_count, "max_queue_bytes", max_queue_bytes),
            max_event_age_ms=opt(_millis, "max_event_age", max_event_age),
            max_pending_calls=opt(_count, "max_pending_calls", max_pending_calls),
            record_wait_ms=opt(_millis, "record_wait", record_wait),
            session_timeout_ms=opt(_millis, "session_timeout", session_timeout),
            session_events=session_events,
            reset_on_user_switch=reset_on_user_switch,
            consent=dict(consent or {}),
            required_consent=list(required_consent),
            context_json=context_json,
            anonymous_id=anonymous_id,
            tracking_plan_json=tracking_plan,
            strict_tracking_plan=strict_tracking_plan,
            destinations=extra,
            **own_routing,
        )
        self._client = _FfiClient(config)
        _open_clients.add(self)
        # The fast path's handle: valid as long as self._client lives.
        self._handle = self._client.record_handle()
        # Made once: recording calls pass it on every call. A closure over the
        # generated object, not a bound method: `self._count_refused =
        # self._refused` would be a reference cycle, and a client dropped
        # with `del` would then live on until the cycle collector ran.
        self._count_refused = _refused_counter(self._client)

    # Recording calls: validate, hand over to the core's worker, return.

    def track(self, event: str, properties: Optional[Mapping[str, Any]] = None) -> None:
        """Records that the user did ``event``, with ``properties``."""
        _record.record(self._handle, _record.TRACK, "event name", event, "properties", _encode("properties", properties, self._count_refused), self._count_refused)

    def identify(self, user_id: str, traits: Optional[Mapping[str, Any]] = None) -> None:
        """Says who the user is; later events carry ``user_id`` and ``traits`` are merged into the stored traits."""
        _record.record(self._handle, _record.IDENTIFY, "user id", user_id, "traits", _encode("traits", traits, self._count_refused), self._count_refused)

    def alias(self, new_id: str) -> None:
        """Links the current user (or anonymous id) to ``new_id``, which becomes the user id."""
        _record.record(self._handle, _record.ALIAS, "new id", new_id, "", "", self._count_refused)

    def group(self, group_id: str, traits: Optional[Mapping[str, Any]] = None) -> None:
        """Says the user belongs to ``group_id``, with the group's ``traits``."""
        _record.record(self._handle, _record.GROUP, "group id", group_id, "traits", _encode("traits", traits, self._count_refused), self._count_refused)

    def screen(self, name: str, properties: Optional[Mapping[str, Any]] = None) -> None:
        """Records that the screen ``name`` was viewed."""
        _record.record(self._handle, _record.SCREEN, "screen name", name, "properties", _encode("properties", properties, self._count_refused), self._count_refused)

    def page(self, name: str, properties: Optional[Mapping[str, Any]] = None) -> None:
        """Records that the web page ``name`` was viewed (the name may be empty)."""
        _record.record(self._handle, _record.PAGE, "page name", name, "properties", _encode("properties", properties, self._count_refused), self._count_refused)

    def enqueue(self, event: Mapping[str, Any]) -> None:
        """Records a complete Segment-spec event as given (``type``, ``userId``,
        ``messageId``, ``timestamp``, ``context`` are kept): for services that
        record on behalf of many users, one event per request."""
        self._client.enqueue(_encode("event", event, self._count_refused) or "{}")

    def reset(self) -> None:
        """Forgets the user on this device: clears user id, traits and group; makes a new anonymous id."""
        self._client.reset()

    def set_anonymous_id(self, anonymous_id: str) -> None:
        """Replaces the anonymous id."""
        self._client.set_anonymous_id(_text("anonymous_id", anonymous_id))

    def set_context(self, context: Mapping[str, Any]) -> None:
        """Merges ``context`` into the context of every later event; a ``None`` value removes a key."""
        self._client.set_context(_encode("context", context) or "{}")

    def set_tracking_plan(self, plan_json: str) -> None:
        """Replaces the tracking plan (JSON text) for every later call; raises
        ``CairnError.InvalidConfig`` naming where it is wrong (the plan in force stays)."""
        self._client.set_tracking_plan(_text("tracking plan", plan_json))

    def remove_tracking_plan(self) -> None:
        """Removes the tracking plan: later calls are not checked."""
        self._client.remove_tracking_plan()

    def set_consent(self, category: str, state: ConsentState) -> None:
        """Records the user's decision for one consent ``category``."""
        self._client.set_consent(_text("category", category), state)

    def opt_out(self, opted_out: bool = True) -> None:
        """``True``: nothing is stored or sent from now on and the buffer is purged (it persists); ``False`` resumes."""
        self._client.opt_out(bool(opted_out))

    # Calls that wait, up to their timeout.

    def forget(self, timeout: Seconds = 10.0) -> _values.Forgotten:
        """Erases the user from this device (queued events, identity, consent) and returns the ids erased."""
        return _values.forgotten(self._client.forget(_timeout(timeout)))

    def commit(self, timeout: Seconds = 5.0) -> bool:
        """Waits until every earlier call is in the buffer file; ``False`` if the disk fails and events wait in memory."""
        return self._client.commit(_timeout(timeout))

    def flush(self, timeout: Seconds = 5.0) -> _values.FlushReport:
        """Sends what is queued and waits up to ``timeout`` for delivery; what is left goes out later."""
        return _values.flush_report(self._client.flush(_timeout(timeout)))

    def shutdown(self, timeout: Seconds = 5.0) -> _values.FlushReport:
        """Flushes for up to ``timeout``, then stops; later calls raise ``CairnError.ShutDown``.
        Undelivered events stay on disk for the next client on this file.
        A client still open when the interpreter exits is shut down then
        (see ``SHUTDOWN_AT_EXIT_TIMEOUT``)."""
        report = _values.flush_report(self._client.shutdown(_timeout(timeout)))
        _open_clients.discard(self)
        return report

    # State, without touching disk.

    def stats(self) -> _values.Stats:
        """The queue, delivery progress and drops by reason."""
        return _values.stats(self._client.stats())

    @property
    def anonymous_id(self) -> str:
        """The anonymous id in force."""
        return self._client.anonymous_id()

    @property
    def user_id(self) -> Optional[str]:
        """The user id in force, or ``None`` before ``identify``."""
        return self._client.user_id()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.shutdown()
        except CairnError.ShutDown:
            pass
