"""When a source is due: an interval (``30s``, ``15m``, ``1h``, ``1d``), ``@hourly``/``@daily``/
``@weekly``, or cron-lite: five fields ``minute hour day month weekday`` with ``*``, ``*/n``,
numbers, ranges ``a-b`` (``a-b/n``) and lists ``a,b`` (weekday 0 or 7 is Sunday), in UTC.

A source that never ran is due at once. An interval is due ``interval`` after the last run
started; a cron schedule is due when a matching minute has passed since the last run started.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from latentsearch.errors import SourceConfigError

_INTERVAL = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_ALIASES = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0"}
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12), ("weekday", 0, 7))
_MAX_STEPS = 5000  # a cron expression that never matches (31 February) stops here


@dataclass(frozen=True, slots=True)
class Schedule:
    text: str
    every: timedelta | None  # an interval, or None for cron
    cron: tuple[frozenset[int], ...] = ()  # minute, hour, day, month, weekday (0 = Sunday)
    day_any: bool = True
    weekday_any: bool = True

    def next_run(self, last_started: datetime | None) -> datetime | None:
        """When the source is next due (None: now, it never ran)."""
        if last_started is None:
            return None
        if self.every is not None:
            return last_started + self.every
        return self._next_match(last_started)

    def is_due(self, last_started: datetime | None, now: datetime) -> bool:
        nxt = self.next_run(last_started)
        return nxt is None or nxt <= now

    def _matches_day(self, t: datetime) -> bool:
        day, weekday = t.day in self.cron[2], (t.isoweekday() % 7) in self.cron[4]
        if self.day_any or self.weekday_any:  # cron: when both are restricted, either may match
            return day and weekday
        return day or weekday

    def _next_match(self, after: datetime) -> datetime:
        minutes, hours, _, months, _ = self.cron
        t = after.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(_MAX_STEPS):
            if t.month not in months:
                t = (t.replace(day=1) + timedelta(days=32)).replace(day=1, hour=0, minute=0)
            elif not self._matches_day(t):
                t = (t + timedelta(days=1)).replace(hour=0, minute=0)
            elif t.hour not in hours:
                t = (t + timedelta(hours=1)).replace(minute=0)
            elif t.minute not in minutes:
                t += timedelta(minutes=1)
            else:
                return t
        raise SourceConfigError(f"schedule {self.text!r} never matches a date")


def parse_schedule(text: str) -> Schedule:
    """A `Schedule`, or `SourceConfigError` saying which forms are understood."""
    m = _INTERVAL.match(text)
    if m:
        seconds = int(m.group(1)) * _UNITS[m.group(2)]
        if seconds < 1:
            raise SourceConfigError(f"schedule {text!r}: the interval must be at least 1s")
        return Schedule(text, timedelta(seconds=seconds))
    fields = _ALIASES.get(text.strip(), text).split()
    if len(fields) != 5:
        raise SourceConfigError(
            f"schedule {text!r} is not understood; give an interval like '15m', '1h' or '1d', "
            "@hourly, @daily, @weekly, or five cron fields like '0 2 * * 1-5' (UTC)"
        )
    sets = [_field(f, *spec, text) for f, spec in zip(fields, _FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in sets[4])
    Schedule(text, None, (*sets[:4], weekdays))._next_match(datetime(2000, 1, 1, tzinfo=UTC))
    return Schedule(
        text, None, (*sets[:4], weekdays), day_any=fields[2] == "*", weekday_any=fields[4] == "*"
    )


def _field(value: str, name: str, low: int, high: int, text: str) -> frozenset[int]:
    out: set[int] = set()
    for part in value.split(","):
        m = re.fullmatch(r"(\*|\d+(?:-\d+)?)(?:/(\d+))?", part)
        if not m:
            raise SourceConfigError(f"schedule {text!r}: bad {name} field {value!r}")
        rng, step = m.group(1), int(m.group(2) or 1)
        if rng == "*":
            a, b = low, high
        else:
            a_text, _, b_text = rng.partition("-")
            a, b = int(a_text), int(b_text or a_text)
        if not (low <= a <= b <= high) or step < 1:
            raise SourceConfigError(
                f"schedule {text!r}: {name} {part!r} is outside {low}-{high} or empty"
            )
        out.update(range(a, b + 1, step))
    return frozenset(out)
