"""What the client knows about the machine it runs on (Segment's context
fields ``os``, ``locale``, ``timezone``), and how it is combined with the
context the app gives: the app's values win, key by key, at every depth."""

from __future__ import annotations

import locale as _locale
import os as _os
import platform as _platform
from typing import Any, Dict, Mapping


def platform_context() -> Dict[str, Any]:
    """The operating system, the locale (``en-US``) and, when ``TZ`` names it, the time zone."""
    ctx: Dict[str, Any] = {"os": {"name": _platform.system(), "version": _platform.release()}}
    lang = _locale.getlocale()[0] or _os.environ.get("LANG", "").split(".")[0]
    if lang and lang not in ("C", "POSIX"):
        ctx["locale"] = lang.replace("_", "-")
    tz = _os.environ.get("TZ", "").lstrip(":")
    if tz:
        ctx["timezone"] = tz
    return ctx


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> Dict[str, Any]:
    """``base`` with ``overrides`` laid over it; nested dicts are merged, other values replace."""
    out = dict(base)
    for key, value in overrides.items():
        under = out.get(key)
        if isinstance(under, Mapping) and isinstance(value, Mapping):
            out[key] = merge(under, value)
        else:
            out[key] = value
    return out
