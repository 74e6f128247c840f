"""ISO 8601 durations (``P3D``, ``PT4H30M``, ``P1W``) as seconds, for timers."""

from __future__ import annotations

import math
import re

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$",
    re.ASCII,  # plain digits: \d would also take other scripts' digits
)
_SECONDS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}

#: The longest duration accepted, 1,000 years (P365250D): anything longer is a typo, and a
#: deadline that far away no longer fits a date (year 9999 is the last one).
MAX_SECONDS = 365250 * 86400.0


def parse_duration(value: str | float | int) -> float:
    """Seconds in ``value``: a number of seconds or an ISO 8601 duration without years or
    months (their length varies, so a deadline in them would be ambiguous). Always a
    finite positive number: infinity or NaN (YAML ``.inf``, ``.nan``) would reach the
    clock and the audit journal, where they stall cases or cannot be recorded."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"a duration must be a finite number of seconds, got {value}")
        if value <= 0:
            raise ValueError(f"a duration must be positive, got {value}")
        return _bounded(value, value)
    m = _DURATION.match(value.strip().upper()) if isinstance(value, str) else None
    if m is None or value.strip().upper() in ("P", "PT") or value.strip().upper().endswith("T"):
        raise ValueError(f"{value!r} is not an ISO 8601 duration such as P3D or PT4H "
                         "(years and months are not allowed)")
    total = sum(float(v) * _SECONDS[k] for k, v in m.groupdict().items() if v)
    if total <= 0:
        raise ValueError(f"a duration must be positive, got {value!r}")
    return _bounded(total, value)


def _bounded(seconds: float, value: object) -> float:
    if not seconds <= MAX_SECONDS:  # also digits too many for a float (inf), or an int
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise ValueError(f"a duration must be at most 1,000 years (P365250D), got {shown}")
    return float(seconds)


__all__ = ["MAX_SECONDS", "parse_duration"]
