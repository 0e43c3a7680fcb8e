"""cairn: product-analytics events recorded into an on-disk buffer and
delivered at least once to a Segment-compatible ``/v1/batch`` endpoint.

>>> import cairn
>>> with cairn.Client("WRITE_KEY", endpoint="http://127.0.0.1:8090") as client:  # doctest: +SKIP
...     client.track("Signed Up", {"plan": "pro"})
"""

from ._client import SHUTDOWN_AT_EXIT_TIMEOUT, Client, Seconds
from ._ffi import CairnError, ConsentState, DestinationKind, InternalError, cairn_version
from ._values import (
    DestinationConfig,
    DestinationStats,
    DroppedEvents,
    FlushReport,
    Forgotten,
    RecentViolation,
    RoomWaits,
    Stats,
    ViolationCount,
)

__all__ = [
    "Client",
    "CairnError",
    "ConsentState",
    "DestinationConfig",
    "DestinationKind",
    "DestinationStats",
    "RoomWaits",
    "InternalError",
    "DroppedEvents",
    "FlushReport",
    "Forgotten",
    "Stats",
    "ViolationCount",
    "RecentViolation",
    "Seconds",
    "SHUTDOWN_AT_EXIT_TIMEOUT",
    "core_version",
]


def core_version() -> str:
    """The version of the cairn core inside the native library."""
    return cairn_version()
