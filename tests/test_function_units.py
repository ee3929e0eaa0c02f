"""The small rules: CNPG cron schedules, Kubernetes quantities, names."""

from __future__ import annotations

from decimal import Decimal

import pytest

from function import cron, names, quantity

GOOD_SCHEDULES = [
    "0 0 3 * * *", "0 30 1 * * 0", "*/30 * * * * *", "0 0 0 1 JAN *", "0 0 12 * * MON-FRI",
    "0 0 0,12 1-15 * ?", "@daily", "@hourly", "@every 6h", "@every 1h30m", "0 0 3 * *  *",
]  # fmt: skip
BAD_SCHEDULES = [
    ("0 3 * * *", "five fields"),
    ("* * * *", "has 4 fields"),
    ("0 0 3 * * * *", "has 7 fields"),
    ("60 0 3 * * *", "seconds field '60' is outside 0-59"),
    ("0 0 3 32 * *", "outside 1-31"),
    ("0 0 3 * 13 *", "outside 1-12"),
    ("0 0 3 * * 7", "outside 0-6"),
    ("0 0 5-3 * * *", "empty range"),
    ("0 0 3 * FOO *", "not a number, range or list"),
    ("0 0 */0 * * *", "invalid step"),
    ("@weekdays", "not a schedule descriptor"),
    ("@every forever", "not a schedule descriptor"),
    ("", "has 0 fields"),
    ("0 " * 200, "too long"),
]


@pytest.mark.parametrize("schedule", GOOD_SCHEDULES)
def test_schedules_cnpg_reads_as_meant(schedule):
    assert cron.schedule_problem(schedule) is None


@pytest.mark.parametrize(("schedule", "says"), BAD_SCHEDULES, ids=[s for s, _ in BAD_SCHEDULES])
def test_schedules_cnpg_would_misread_or_refuse(schedule, says):
    problem = cron.schedule_problem(schedule)
    assert problem is not None and says in problem, problem


QUANTITIES = [
    ("10Gi", Decimal(10 * 2**30)), ("500m", Decimal("0.5")), ("2", Decimal(2)), ("1.5G", Decimal(1_500_000_000)),
    ("128974848", Decimal(128974848)), ("129e6", Decimal(129_000_000)), ("100Ki", Decimal(102400)), (".5", Decimal("0.5")),
]  # fmt: skip


@pytest.mark.parametrize(("text", "value"), QUANTITIES, ids=[q for q, _ in QUANTITIES])
def test_quantities_parse_as_kubernetes_does(text, value):
    assert quantity.is_quantity(text)
    assert quantity.parse(text) == value


@pytest.mark.parametrize("text", ["10 Gi", "10GB", "Gi", "", "1.2.3", "10gi", "-", "1e", "x" * 100])
def test_non_quantities_are_refused(text):
    assert not quantity.is_quantity(text)
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        quantity.parse(text)


def test_numbers_are_normalised_like_kubernetes_prints_them():
    assert quantity.normalise(2.0) == "2"
    assert quantity.normalise(0.5) == "0.5"
    with pytest.raises(ValueError):
        quantity.normalise(True)  # noqa: FBT003 - the value under test


NAME_RULES = [
    (names.cnpg_cluster_problem, "postgres-shop", None),
    (names.cnpg_cluster_problem, "p" * 50, None),
    (names.cnpg_cluster_problem, "p" * 51, "at most 50"),
    (names.cnpg_cluster_problem, "1db", "DNS-1035"),
    (names.cnpg_cluster_problem, "db.shop", "DNS-1035"),
    (names.dns1123_subdomain_problem, "shop-postgres-credentials", None),
    (names.dns1123_subdomain_problem, "a.b-c", None),
    (names.dns1123_subdomain_problem, "-a", "not a valid Kubernetes name"),
    (names.dns1123_subdomain_problem, "a" * 254, "at most 253"),
    (names.database_name_problem, "shop_1", None),
    (names.database_name_problem, "template0", "reserved"),
    (names.database_name_problem, "ünicode", "plain PostgreSQL identifier"),
    (names.database_name_problem, "é" * 32, "63-byte limit"),
    (names.role_name_problem, "pg_read_all_data", "reserved"),
    (names.role_name_problem, "cnpg_x", "reserved"),
    (names.role_name_problem, "app", None),
    (names.extension_problem, "uuid-ossp", None),
    (names.extension_problem, "pg_trgm", None),
    (names.extension_problem, "-x", "not an extension name"),
    (names.extension_problem, 'a"b', "not an extension name"),
]


@pytest.mark.parametrize(
    ("rule", "value", "says"), NAME_RULES, ids=[f"{r.__name__}:{v[:20]}" for r, v, _ in NAME_RULES]
)
def test_names(rule, value, says):
    problem = rule(value)
    if says is None:
        assert problem is None
    else:
        assert problem is not None and says in problem, problem


def test_derived_names():
    assert names.default_database_name("my-app") == "my_app"
    assert names.default_owner("my_app") == "my_app_user"
    assert names.default_cluster_name("my-app") == "postgres-my-app"
    assert names.default_credentials_secret("my-app") == "my-app-postgres-credentials"
    assert names.rw_service_host("postgres-my-app", "apps") == "postgres-my-app-rw.apps.svc"
