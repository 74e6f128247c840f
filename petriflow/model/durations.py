"""ISO 8601 durations (``P3D``, ``PT4H30M``, ``P1W``) as seconds, for timers."""

from __future__ import annotations

import re

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_SECONDS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


def parse_duration(value: str | float | int) -> float:
    """Seconds in ``value``: a number of seconds or an ISO 8601 duration without years or
    months (their length varies, so a deadline in them would be ambiguous)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError(f"a duration must be positive, got {value}")
        return float(value)
    m = _DURATION.match(value.strip().upper()) if isinstance(value, str) else None
    if m is None or value.strip().upper() in ("P", "PT") or value.strip().upper().endswith("T"):
        raise ValueError(f"{value!r} is not an ISO 8601 duration such as P3D or PT4H "
                         "(years and months are not allowed)")
    total = sum(float(v) * _SECONDS[k] for k, v in m.groupdict().items() if v)
    if total <= 0:
        raise ValueError(f"a duration must be positive, got {value!r}")
    return total


__all__ = ["parse_duration"]
