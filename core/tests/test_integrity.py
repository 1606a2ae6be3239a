"""validate as an orchestrator over the checks each app registers (core.integrity): a registered
check is run in the report's snapshot and listed with its kind, a check whose query fails spoils
only its own line, and the statistics checks compute with the SQL functions the triggers use, so
that each formula exists once."""

import pytest
from django.db import connection

from core.integrity import FAIL, PASS, CheckResult, Registry, registry
from ops.integrity.validate import validate_database
from skills.selectors import skills_with_stale_statistics
from skills.services import fold_skill_usage, record_usages
from skills.tests.builders import make_skill, usage


@pytest.fixture
def probe_check():
    """A check registered for the duration of the test (removed afterwards)."""
    added = []

    def register(kind, check):
        registry.register(kind)(check)
        added.append((kind, check))
        return check

    yield register
    for item in added:
        registry.checks.remove(item)


def test_every_app_registers_its_own_checks():
    modules = {check.__module__ for _, check in registry.checks}
    assert {"cases.integrity", "skills.integrity", "discovery.integrity"} <= modules
    assert {"ops.integrity.schema", "ops.integrity.rows"} <= modules
    tables = {reference.table for reference in registry.references}
    assert {"skills", "document_type_instances", "template_usage_logs"} <= tables


def test_an_unknown_kind_of_check_is_refused():
    with pytest.raises(ValueError, match="unknown kind of integrity check 'speed'"):
        Registry().register("speed")


@pytest.mark.django_db(transaction=True)  # validate's own transaction is then the outermost
def test_a_registered_check_runs_in_the_snapshot_and_a_failing_one_spoils_only_its_line(
    probe_check,
):
    def read_only(database):
        with database.cursor() as cursor:
            cursor.execute("SELECT current_setting('transaction_read_only')")
            (setting,) = cursor.fetchone()
        return [CheckResult("statistics", PASS, "probe", f"read only: {setting}")]

    def broken(database):
        with database.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")
        return []

    probe_check("statistics", read_only)
    probe_check("tables", broken)
    report = validate_database()
    lines = {(r.check, r.target): r for r in report.results}
    assert lines[("statistics", "probe")].detail == "read only: on"
    (failure,) = report.failures
    assert (failure.check, failure.status) == ("tables", FAIL)
    assert failure.detail.startswith('could not run: relation "no_such_table" does not exist')
    tables = [r.status for r in report.results if r.check == "tables"]
    assert tables == [PASS, FAIL]  # the check beside it ran, in the order registered
    kinds = [r.check for r in report.results]
    assert kinds.index("tables") < kinds.index("statistics")  # the report's order of kinds


@pytest.mark.django_db
def test_the_statistics_check_and_selector_use_the_triggers_own_formula():
    skill = make_skill()
    record_usages([usage(skill, success=True), usage(skill, success=False)])
    fold_skill_usage()  # the stored figure, computed by the formula as it was
    assert validate_database().ok and skills_with_stale_statistics() == []
    with connection.cursor() as cursor:  # the formula changes in one place, for everyone
        cursor.execute(
            "CREATE OR REPLACE FUNCTION skill_effectiveness_score(successes bigint, logs bigint) "
            "RETURNS numeric LANGUAGE sql IMMUTABLE RETURN 7"
        )
    failures = validate_database().failures
    assert [(r.target, r.rule) for r in failures] == [
        ("skills", "skills.effectiveness_score = aggregate of skill_usage_logs")
    ]
    assert [stale.skill_id for stale in skills_with_stale_statistics()] == [skill.skill_id]
