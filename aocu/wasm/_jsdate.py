"""JS ``Date`` arithmetic and the glue's ``strftime``, with the host zone pinned to UTC.

The glue implements ``localtime``/``gmtime``/``mktime``/``strftime`` with JS
``Date`` in the host's local zone; aocu pins UTC (loader-abi.md §1, §7), so
local and UTC are the same here. `strftime` ports the glue's regex-based
rewrite (not musl's), quirks included. Pure functions over ints and strings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
MONTH_DAYS_LEAP = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
MONTH_DAYS_REGULAR = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
SECONDS_PER_DAY = 86_400


def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (month 1..12)."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


@dataclass(frozen=True, slots=True)
class Fields:
    """What ``new Date(t * 1000)`` answers to its getters, in UTC."""

    sec: int
    min: int
    hour: int
    mday: int
    mon: int      # 0..11
    year: int     # full year
    wday: int
    yday: int


def utc_fields(seconds: int) -> Fields:
    days, secs = divmod(int(seconds), SECONDS_PER_DAY)
    z = days + 719_468
    era = (z if z >= 0 else z - 146_096) // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    mday = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    year = yoe + era * 400 + (month <= 2)
    return Fields(
        sec=secs % 60, min=(secs // 60) % 60, hour=secs // 3600, mday=mday, mon=month - 1, year=year,
        wday=(days + 4) % 7, yday=days - days_from_civil(year, 1, 1),
    )


def make_time(year: int, mon: int, mday: int, hour: int, minute: int, sec: int) -> int:
    """``new Date(year, mon, mday, h, m, s).getTime() / 1000``: out-of-range fields normalise."""
    year += mon // 12
    mon %= 12
    days = days_from_civil(year, mon + 1, 1) + (mday - 1)
    return days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + sec


@dataclass(frozen=True, slots=True)
class Tm:
    """A C ``struct tm`` as the glue's ``_strftime`` reads it."""

    tm_sec: int
    tm_min: int
    tm_hour: int
    tm_mday: int
    tm_mon: int
    tm_year: int
    tm_wday: int
    tm_yday: int
    tm_isdst: int
    tm_gmtoff: int
    tm_zone: str


# EXPANSION_RULES_1: composite conversions rewritten first, in this order.
_EXPANSIONS: tuple[tuple[str, str], ...] = (
    ("%c", "%a %b %d %H:%M:%S %Y"), ("%D", "%m/%d/%y"), ("%F", "%Y-%m-%d"), ("%h", "%b"),
    ("%r", "%I:%M:%S %p"), ("%R", "%H:%M"), ("%T", "%H:%M:%S"), ("%x", "%m/%d/%y"), ("%X", "%H:%M:%S"),
    ("%Ec", "%c"), ("%EC", "%C"), ("%Ex", "%m/%d/%y"), ("%EX", "%H:%M:%S"), ("%Ey", "%y"), ("%EY", "%Y"),
    ("%Od", "%d"), ("%Oe", "%e"), ("%OH", "%H"), ("%OI", "%I"), ("%Om", "%m"), ("%OM", "%M"),
    ("%OS", "%S"), ("%Ou", "%u"), ("%OU", "%U"), ("%OV", "%V"), ("%Ow", "%w"), ("%OW", "%W"),
    ("%Oy", "%y"),
)


def _lead(value: object, digits: int, char: str = "0") -> str:
    s = str(value)
    return s if len(s) >= digits else char * (digits - len(s)) + s


def _js_num(x: float) -> str:
    """``String(x)`` for the small numbers ``%z`` produces."""
    return str(int(x)) if x == int(x) else repr(x)


def _week_based_year(tm: Tm) -> int:
    t = make_time(tm.tm_year + 1900, 0, 1, 0, 0, 0) + tm.tm_yday * SECONDS_PER_DAY
    year = utc_fields(t).year

    def first_week_start(y: int) -> int:
        jan4 = make_time(y, 0, 4, 0, 0, 0)
        back = (utc_fields(jan4).wday + 6) % 7   # days back to the Monday on or before Jan 4
        return jan4 - back * SECONDS_PER_DAY

    day = t - t % SECONDS_PER_DAY
    if first_week_start(year) <= day:
        return year + 1 if first_week_start(year + 1) <= day else year
    return year - 1


def _iso_week(tm: Tm) -> str:
    val = (tm.tm_yday + 7 - (tm.tm_wday + 6) % 7) // 7
    if (tm.tm_wday + 371 - tm.tm_yday - 2) % 7 <= 2:
        val += 1
    if not val:
        val = 52
        dec31 = (tm.tm_wday + 7 - tm.tm_yday - 1) % 7
        if dec31 == 4 or (dec31 == 5 and is_leap(tm.tm_year % 400 - 1)):
            val += 1
    elif val == 53:
        jan1 = (tm.tm_wday + 371 - tm.tm_yday) % 7
        if jan1 != 4 and (jan1 != 3 or not is_leap(tm.tm_year)):
            val = 1
    return _lead(val, 2)


def _day_of_year(tm: Tm) -> str:
    # The glue sums months 0..tm_mon-1 with an inclusive loop bound, i.e. the
    # days of the months before this one, plus tm_mday (a quirk kept as is).
    table = MONTH_DAYS_LEAP if is_leap(tm.tm_year + 1900) else MONTH_DAYS_REGULAR
    return _lead(tm.tm_mday + sum(table[: max(tm.tm_mon, 0)]), 3)


def _gmt_offset(tm: Tm) -> str:
    off = tm.tm_gmtoff
    ahead = off >= 0
    off_min = abs(off) / 60
    value = (off_min / 60) * 100 + math.fmod(off_min, 60)
    return ("+" if ahead else "-") + ("0000" + _js_num(value))[-4:]


def _twelve_hour(tm: Tm) -> str:
    h = tm.tm_hour
    return _lead(12 if h == 0 else (h - 12 if h > 12 else h), 2)


_CONVERSIONS: Mapping[str, Callable[[Tm], str]] = {
    "%a": lambda t: WEEKDAYS[t.tm_wday % 7][:3],
    "%A": lambda t: WEEKDAYS[t.tm_wday % 7],
    "%b": lambda t: MONTHS[t.tm_mon % 12][:3],
    "%B": lambda t: MONTHS[t.tm_mon % 12],
    "%C": lambda t: _lead(int((t.tm_year + 1900) / 100), 2),
    "%d": lambda t: _lead(t.tm_mday, 2),
    "%e": lambda t: _lead(t.tm_mday, 2, " "),
    "%g": lambda t: str(_week_based_year(t))[2:],
    "%G": lambda t: str(_week_based_year(t)),
    "%H": lambda t: _lead(t.tm_hour, 2),
    "%I": _twelve_hour,
    "%j": _day_of_year,
    "%m": lambda t: _lead(t.tm_mon + 1, 2),
    "%M": lambda t: _lead(t.tm_min, 2),
    "%n": lambda t: "\n",
    "%p": lambda t: "AM" if 0 <= t.tm_hour < 12 else "PM",
    "%S": lambda t: _lead(t.tm_sec, 2),
    "%t": lambda t: "\t",
    "%u": lambda t: str(t.tm_wday or 7),
    "%U": lambda t: _lead((t.tm_yday + 7 - t.tm_wday) // 7, 2),
    "%V": _iso_week,
    "%w": lambda t: str(t.tm_wday),
    "%W": lambda t: _lead((t.tm_yday + 7 - (t.tm_wday + 6) % 7) // 7, 2),
    "%y": lambda t: str(t.tm_year + 1900)[2:],
    "%Y": lambda t: str(t.tm_year + 1900),
    "%z": _gmt_offset,
    "%Z": lambda t: t.tm_zone,
    "%%": lambda t: "%",
}


def strftime(pattern: str, tm: Tm) -> str:
    """The glue's ``_strftime`` text for ``pattern`` (before the maxsize check)."""
    for rule, replacement in _EXPANSIONS:
        pattern = pattern.replace(rule, replacement)
    pattern = pattern.replace("%%", "\0\0")
    for rule, convert in _CONVERSIONS.items():
        if rule in pattern:
            pattern = pattern.replace(rule, convert(tm))
    return pattern.replace("\0\0", "%")
