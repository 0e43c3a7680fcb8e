"""The recording fast path: how ``track``, ``screen``, ``page``, ``identify``,
``group`` and ``alias`` reach the core.

They call ``cairn_ffi_record``, a hand-written C function of the native
library (bindings/src/record.rs), through ctypes with ``bytes`` arguments,
instead of the generated module's call, which builds a RustBuffer per string
and a call-status structure each time. Everything else stays on the
generated module. Errors come back as the kind byte and message the library
writes into a per-thread buffer, and are raised as the same
``CairnError`` subclasses, with the core's own message.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from typing import Callable

from . import cairn_ffi as _generated
from ._ffi import CairnError

ABI_VERSION = 1
"""``RECORD_ABI_VERSION`` in bindings/src/record.rs."""

# Call kinds: ``CALL_*`` in bindings/src/record.rs.
TRACK, SCREEN, PAGE, IDENTIFY, GROUP, ALIAS = range(6)

_ERR_CAP = 1024
"""Room for the error kind and message; the core's are well under it (longer ones end in "…")."""

# Error kinds: ``ERR_*`` in bindings/src/record.rs (9, a closed client, cannot
# happen here: the handle lives as long as the generated object).
_ERRORS = {
    1: CairnError.InvalidConfig,
    2: CairnError.InvalidEvent,
    3: CairnError.EventTooLarge,
    4: CairnError.Storage,
    5: CairnError.StorageInUse,
    6: CairnError.Timeout,
    7: CairnError.ShutDown,
    8: CairnError.Internal,
    9: CairnError.ShutDown,
    10: CairnError.Forked,
    11: CairnError.PlanViolation,
}


def _library_path() -> str:
    # The file the generated module loads (beside it, by the same rule), so
    # the dynamic loader hands back that one loaded copy: the handles the
    # generated ``record_handle()`` gives out live in its registry.
    if sys.platform == "darwin":
        name = "libcairn_ffi.dylib"
    elif sys.platform.startswith("win"):
        name = "cairn_ffi.dll"
    else:
        name = "libcairn_ffi.so"
    return os.path.join(os.path.dirname(_generated.__file__), name)


def _load():
    lib = ctypes.CDLL(_library_path())
    abi = lib.cairn_ffi_record_abi_version
    abi.argtypes = ()
    abi.restype = ctypes.c_uint32
    if abi() != ABI_VERSION:
        raise ImportError(
            f"{_library_path()} speaks version {abi()} of cairn_ffi_record, this package version "
            f"{ABI_VERSION}: the package and the native library come from different builds"
        )
    fn = lib.cairn_ffi_record
    # CDLL releases the GIL during the call: a call that waits for room in
    # the core's channel never stops other threads.
    fn.argtypes = (
        ctypes.c_uint64,
        ctypes.c_int32,
        ctypes.c_char_p,
        ctypes.c_int32,
        ctypes.c_char_p,
        ctypes.c_int32,
        ctypes.c_char_p,
        ctypes.c_int32,
    )
    fn.restype = ctypes.c_int32
    return fn


_record = _load()
_local = threading.local()


def _utf8(what: str, text: str, refused: Callable[[], None]) -> bytes:
    if not isinstance(text, str):
        # A refused call like any other: the caller gets a CairnError (not the
        # TypeError of the generated module), and stats() counts it invalid.
        refused()
        raise CairnError.InvalidEvent(f"invalid event: {what} {not_a_str(text)}") from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        refused()
        raise CairnError.InvalidEvent(
            f"invalid event: {what} contains a lone surrogate ({text[e.start]!r} at index {e.start}), "
            "which UTF-8 cannot carry"
        ) from None


def not_a_str(value: object) -> str:
    """The end of an error for ``value``, which should have been a ``str``."""
    if value is None:
        return "is None: pass a str"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"must be a str, got {type(value).__name__} {value!r}: pass str({value!r}) if that is what you mean"
    return f"must be a str, got {type(value).__name__}"


def record(handle: int, kind: int, what: str, name: str, field: str, json: str, refused: Callable[[], None]) -> None:
    """Records one call of ``kind`` on the client ``handle`` names; ``what``
    names ``name`` and ``field`` names ``json`` in errors. ``refused`` runs
    when this side refuses the call, so the core counts it."""
    # The common case inline (a Python call costs ~0.1 µs); _utf8 says what is wrong.
    try:
        name_bytes = name.encode("utf-8") if type(name) is str else _utf8(what, name, refused)
        json_bytes = json.encode("utf-8") if json else b""
    except UnicodeEncodeError:
        name_bytes = _utf8(what, name, refused)
        json_bytes = _utf8(field, json, refused)
    try:
        err = _local.err
    except AttributeError:
        # One buffer per thread: the call releases the GIL, so threads must not share one.
        err = _local.err = ctypes.create_string_buffer(_ERR_CAP)
    n = _record(handle, kind, name_bytes, len(name_bytes), json_bytes, len(json_bytes), err, _ERR_CAP)
    if n:
        raise _failure(n, err)


def _failure(n: int, err) -> Exception:
    if n < 0:
        return CairnError.Internal(f"cairn failed unexpectedly: cairn_ffi_record returned {n}")
    raw = err.raw[:n]
    message = raw[1:].decode("utf-8", errors="replace")
    if raw[0] == 9:
        message = "this cairn client was closed: create a new Client to record more events"
    return _ERRORS.get(raw[0], CairnError.Internal)(message)
