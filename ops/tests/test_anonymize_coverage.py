"""`anonymize` leaves no person behind, including in the columns it keeps: every text column of
every table is classified (or `check` and `anonymize` refuse), free text is masked, and an
invented person planted in every masked column (the list comes from the rules themselves, so a
new column is covered without editing this file) is nowhere to be found afterwards."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import override_settings

from cases.models import Case, Document, User
from discovery.models import DocumentTypeRegistry
from ops.anonymization.run import AnonymizationError, LeakFound, anonymize_database
from ops.checks import check_anonymization_classification
from ops.tests.personal_data import PLANTED_PERSON, plant_everywhere, plant_personal_data
from ops.tests.test_anonymize import database_dump
from skills.models import Skill

pytestmark = pytest.mark.django_db(transaction=True)


def without(table: str, column: str) -> dict:
    rules = dict(settings.ANONYMIZATION)
    rules[table] = {name: rule for name, rule in rules[table].items() if name != column}
    return rules


def test_every_text_column_of_the_models_is_classified():
    assert check_anonymization_classification(databases=["default"]) == []


def test_an_unclassified_column_fails_the_check_and_anonymize_refuses():
    plant_personal_data()
    with override_settings(ANONYMIZATION=without("cases", "case_number")):
        errors = check_anonymization_classification()
        assert [error.msg for error in errors] == ["cases.case_number has no anonymization rule"]
        assert errors[0].id == "ops.E001"
        with pytest.raises(AnonymizationError) as caught:
            anonymize_database()
    assert str(caught.value).startswith(
        "refusing to anonymize: cases.case_number has no anonymization rule; classify it"
    )
    assert User.objects.filter(email__endswith="cabinet-vasilescu.ro").count() == 4


@pytest.fixture
def stray_sql():
    """SQL run now, undone afterwards (tables and columns the project does not know)."""
    undo = []

    def run(statement: str, revert: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement)
        undo.append(revert)

    yield run
    with connection.cursor() as cursor:
        for statement in reversed(undo):
            cursor.execute(statement)


def test_a_column_added_by_sql_or_an_unknown_table_makes_anonymize_refuse(stray_sql, manage):
    originals = plant_personal_data()
    stray_sql(
        "ALTER TABLE users ADD COLUMN nickname text", "ALTER TABLE users DROP COLUMN nickname"
    )
    with pytest.raises(AnonymizationError, match=r"users\.nickname has no anonymization rule"):
        anonymize_database()
    (warning,) = check_anonymization_classification(databases=["default"])
    assert (warning.id, warning.msg) == (
        "ops.W001",
        "users.nickname has no anonymization rule (database 'default'): anonymize refuses to run",
    )
    completed = manage("check", "--database", "default")
    assert "users.nickname has no anonymization rule" in completed.stderr + completed.stdout
    stray_sql(
        "ALTER TABLE users DROP COLUMN nickname", "ALTER TABLE users ADD COLUMN nickname text"
    )
    stray_sql("CREATE TABLE stray_notes (id int, note text)", "DROP TABLE stray_notes")
    with pytest.raises(AnonymizationError, match="the table stray_notes is not the project's"):
        anonymize_database()
    lowered = database_dump()
    assert all(value.lower() in lowered for value in originals["clients"])


def test_courts_in_the_known_list_stay_and_anything_else_is_redacted():
    plant_personal_data()
    names = {
        "CASE-2024-100": "Tribunalul Bucuresti",  # without diacritics
        "CASE-2024-101": "Tribunalul Iași, Secția Litigii de Muncă",
        "CASE-2024-102": "Cabinet Zamfira Quintescu",
    }
    for number, name in names.items():
        Case.objects.filter(case_number=number).update(court_name=name)

    anonymize_database()

    assert dict(Case.objects.values_list("case_number", "court_name")) == {
        "CASE-2024-100": "Tribunalul Bucuresti",
        "CASE-2024-101": "Tribunalul Iași, Secția Litigii de Muncă",
        "CASE-2024-102": "[redacted]",
    }


def test_a_person_planted_in_every_masked_column_is_nowhere_afterwards():
    plant_personal_data()
    planted = plant_everywhere()
    assert len(planted) > 40  # every masked text column of the rules
    for location in (
        "document_type_registry.discovered_type_original",
        "document_type_registry.common_clauses",
        "document_patterns.pattern_text_ro",
        "romanian_templates.variable_mappings",
        "users.preferences",
        "cases.court_name",
    ):
        assert location in planted
    dump = database_dump()
    assert all(value.lower() in dump for value in PLANTED_PERSON.values())

    anonymize_database()

    dump = database_dump()
    assert [value for value in PLANTED_PERSON.values() if value.lower() in dump] == []
    assert "zamfira" not in dump and "quintescu" not in dump


SHAPES = {
    "scrie la zamfira.quintescu@private-mail.ro azi": ["e-mail address"],
    "demo12@example.com, office3@firm.test": [],  # reserved domains: generated or examples
    "tel. 0722 999 888": ["phone number"],
    "+40 722 999 888": ["phone number"],
    "+40-711-000-42": [],  # a rule's template (clients.contact_info)
    "+44 20 7946 0958": ["phone number"],
    "CNP 2900202123455": ["CNP"],  # valid check digit
    "CNP 2900202123457": [],  # wrong check digit (the example; no card's issuer)
    "IBAN RO22AAAA1B31007593840001": ["IBAN"],
    "RO22 AAAA 1B31 0075 9384 0001 BANCA": ["IBAN"],
    "RO49AAAA1B31007593840001": [],  # fails mod-97 (the example)
    "card 4111 1111 1111 1111": ["card number"],
    "card 4111 1111 1111 1112": [],  # fails Luhn
    "4111111111111111": ["card number"],
    "RO22AAAA1B31007593840001": ["IBAN"],
    "6f1c2d3e-0000-4000-8000-000000000001": [],  # a UUID
    "0722999888ab4f1c2d3e0000a0b1c2d3": [],  # an md5: a phone's digits inside a longer word
    "20240131235959123": [],  # a timestamp, no card's issuer
    "dosar 1234/3/2024, termen 12.03.2025": [],
}


def test_the_shape_scan_finds_each_kind_and_nothing_else():
    from psycopg import sql

    from ops.anonymization import rules, shapes
    from ops.anonymization import run as anonymize

    with connection.cursor() as cursor:
        plan = anonymize._load_plan(cursor)
        raw_shapes, _ = rules.generated_shapes(anonymize._all_rules(plan))
        shapes.create_shape_functions(cursor, raw_shapes)
        statement = sql.SQL(
            "SELECT v, coalesce({kinds}, '{{}}') FROM unnest({values}::text[]) AS v"
        ).format(
            kinds=shapes.personal_data_kinds(sql.Identifier("v")), values=sql.Literal(list(SHAPES))
        )
        rules.execute(cursor, statement)
        assert dict(cursor.fetchall()) == SHAPES


def test_personal_data_in_a_kept_column_rolls_the_run_back_naming_column_and_kind(stray_sql):
    originals = plant_personal_data()
    Skill.objects.update(description="Support: +40 722 999 888, IBAN RO22AAAA1B31007593840001")
    DocumentTypeRegistry.objects.update(document_category="zamfira.quintescu@private-mail.ro")
    stray_sql(  # a view computes what no table holds
        "CREATE VIEW contact_cards AS SELECT 'card 4111 1111 1111 1111'::text AS note",
        "DROP VIEW contact_cards",
    )

    with pytest.raises(LeakFound) as caught:
        anonymize_database()

    assert {str(leak) for leak in caught.value.leaks} == {
        "skills.description holds a phone number (shape scan)",
        "skills.description holds an IBAN (shape scan)",
        "document_type_registry.document_category holds an e-mail address (shape scan)",
        "contact_cards.note holds a card number (shape scan)",
    }
    message = str(caught.value)
    assert "722" not in message and "zamfira" not in message and "RO22" not in message
    dump = database_dump()
    assert all(value.lower() in dump for value in originals["clients"])


def test_users_named_like_choice_values_do_not_block_the_run():
    plant_personal_data()
    users = User.objects.order_by("email")[:3]
    for first_name, user in zip(("Other", "Draft", "Filed"), users, strict=True):
        User.objects.filter(pk=user.pk).update(first_name=first_name)
    Document.objects.filter(status="Review").update(document_type="Other")
    assert Document.objects.filter(status__in=["Draft", "Filed"]).count() == 2

    anonymize_database()

    assert set(User.objects.values_list("first_name", flat=True)) == {"Demo"}
    assert Document.objects.filter(document_type="Other").count() == 1
