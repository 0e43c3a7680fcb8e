"""Loads the generated uniffi module and its native library, which
scripts/bindings-python.sh puts beside this file; says what to run when
they are missing instead of failing with a bare ImportError."""

try:
    from .cairn_ffi import (
        CairnClient,
        CairnConfig,
        CairnError,
        ConsentState,
        DestinationConfig,
        DestinationKind,
        InternalError,
        cairn_version,
    )
except ImportError as e:  # pragma: no cover - exercised by hand, not in CI
    raise ImportError(
        "cairn's generated bindings or native library are missing from "
        f"{__name__.rsplit('.', 1)[0]}: run scripts/bindings-python.sh in the cairn repository "
        f"(it builds libcairn_ffi and generates cairn_ffi.py), then install bindings/python ({e})"
    ) from e

__all__ = [
    "CairnClient",
    "CairnConfig",
    "CairnError",
    "ConsentState",
    "DestinationConfig",
    "DestinationKind",
    "InternalError",
    "cairn_version",
]
