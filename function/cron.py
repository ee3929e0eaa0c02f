"""CloudNativePG backup schedules: six cron fields, seconds first.

CNPG parses `ScheduledBackup.spec.schedule` with robfig/cron v1's `cron.Parse`
(Second Minute Hour Dom Month [Dow] or a descriptor). A five-field Unix cron
is *accepted* there and silently shifted by one field: "0 3 * * *" runs every
hour at minute 3, not daily at 03:00. The webhook only warns. So we refuse
anything but six fields or a descriptor, and say why.
"""

from __future__ import annotations

import re

from function.errors import show

EXAMPLE = "0 0 3 * * *"
_DESCRIPTORS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_EVERY = re.compile(r"^@every (\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (name, lowest, highest, names for values starting at `lowest`)
_FIELDS = (
    ("seconds", 0, 59, ()),
    ("minutes", 0, 59, ()),
    ("hours", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 6, _DAYS),
)
_MAX_LENGTH = 256
# A Unix cron has five fields: CNPG would read it shifted by one.
_UNIX_FIELDS = 5


def _value(token: str, low: int, names: tuple[str, ...]) -> int | None:
    if token.isdigit():
        return int(token)
    upper = token.upper()
    if upper in names:
        return names.index(upper) + low
    return None


def _field_problem(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    for part in text.split(","):
        body, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            return f"the {name} field has an invalid step {step!r}"
        if body in {"*", "?"}:
            continue
        start, _, end = body.partition("-")
        values = [_value(start, low, names)] + ([_value(end, low, names)] if end else [])
        bounds = [b for b in values if b is not None]
        if len(bounds) != len(values):
            return f"the {name} field {part!r} is not a number, range or list"
        if any(not low <= b <= high for b in bounds):
            return f"the {name} field {part!r} is outside {low}-{high}"
        if end and bounds[0] > bounds[1]:
            return f"the {name} field {part!r} is an empty range"
    return None


def _fields_problem(schedule: str, fields: list[str]) -> str | None:
    """Why a schedule of cron fields is wrong, or None."""
    if len(fields) == _UNIX_FIELDS:
        return (
            f"{show(schedule)} has five fields, but CloudNativePG schedules have six with seconds first; "
            f"CNPG would read it shifted by one field (minutes as seconds). "
            f"Daily at 03:00 is {EXAMPLE!r}"
        )
    if len(fields) != len(_FIELDS):
        return (
            f"{show(schedule)} has {len(fields)} fields; CloudNativePG schedules have six "
            f"(seconds minutes hours day-of-month month day-of-week), e.g. {EXAMPLE!r}"
        )
    for token, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        problem = _field_problem(token, name, low, high, names)
        if problem:
            return f"{show(schedule)}: {problem}"
    return None


def schedule_problem(schedule: str) -> str | None:
    """Why CNPG would misread or refuse `schedule`, or None when it is sound."""
    if len(schedule) > _MAX_LENGTH:
        return f"{show(schedule)} is too long for a schedule"
    text = schedule.strip()
    if text in _DESCRIPTORS or _EVERY.match(text):
        return None
    if text.startswith("@"):
        return (
            f"{show(schedule)} is not a schedule descriptor; use six cron fields such as "
            f"{EXAMPLE!r} or one of {', '.join(sorted(_DESCRIPTORS))}, '@every <duration>'"
        )
    return _fields_problem(schedule, text.split())


# Kubernetes CronJobs read five fields (minute hour day-of-month month day-of-week) or these macros
# (kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax); no `@every`.
KUBERNETES_DESCRIPTORS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})


def to_kubernetes(schedule: str) -> tuple[str | None, str | None]:
    """(the five-field CronJob schedule, None) for a sound six-field schedule, else (None, why not).

    Every schedule of the API is written in CloudNativePG's six-field dialect (seconds first); a
    CronJob has no seconds field, so the seconds must be 0 and are dropped: '0 0 3 * * *' becomes
    '0 3 * * *'. Descriptors CronJobs also know pass through unchanged.
    """
    problem = schedule_problem(schedule)
    if problem is not None:
        return None, problem
    text = schedule.strip()
    if text.startswith("@"):
        if text in KUBERNETES_DESCRIPTORS:
            return text, None
        return None, (
            f"{show(schedule)} cannot run as a Kubernetes CronJob (no '@every'); use six cron fields such as "
            f"{EXAMPLE!r} or one of {', '.join(sorted(KUBERNETES_DESCRIPTORS))}"
        )
    seconds, *rest = text.split()
    if not seconds.isdigit() or int(seconds) != 0:
        return None, (
            f"{show(schedule)} runs at second {seconds!r}, but dumps run as a Kubernetes CronJob, whose "
            f"schedules have no seconds: the seconds field must be 0 (daily at 03:00 is {EXAMPLE!r})"
        )
    return " ".join(rest), None
