"""`import_anonymized`: a production export becomes the development database only once it is
anonymized and validated; the working database never holds a real value, also when the
anonymization fails midway, and the failed import leaves it exactly as it was."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from cases.models import User
from ops.anonymization.imports import import_anonymized
from ops.anonymization.run import AnonymizationError, LeakFound
from ops.backup.create import create_backup
from ops.tests.conftest import fingerprint, leftover_databases
from ops.tests.personal_data import plant_personal_data
from ops.tests.test_anonymize import database_dump, found
from skills.models import Skill

pytestmark = [pytest.mark.django_db(transaction=True, databases="__all__"), pytest.mark.slow]


@pytest.fixture
def production_export(backup_dir, tmp_path):
    """A dump of a database full of real people; the test database then becomes a small
    development database with one marker user. Returns (export path, originals)."""
    originals = plant_personal_data()
    export = create_backup(output_dir=tmp_path / "exports", label="production").path
    call_command("flush", interactive=False, verbosity=0)
    User.objects.create(email="dev-marker@example.com", password="!")
    return export, originals


def test_the_import_swaps_in_an_anonymized_database_and_keeps_a_safety_backup(
    production_export, backup_dir
):
    export, originals = production_export

    result = import_anonymized(export, delete_export=True)

    connection.close()  # the database was swapped under this process
    assert found(originals, database_dump()) == []
    assert User.objects.count() == 4 and not User.objects.filter(email="dev-marker@example.com")
    assert sorted(User.objects.values_list("email", flat=True)) == [
        f"demo{n}@example.com" for n in range(1, 5)
    ]
    assert result.restore.safety_backup.path.is_file()
    assert not export.exists()
    assert leftover_databases() == []


def test_a_leak_found_in_the_staging_database_never_reaches_the_working_one(production_export):
    export, originals = production_export
    # Another export, with a real email where no rule looks: the verification must stop it.
    User.objects.all().delete()
    plant_personal_data()
    Skill.objects.update(description="ask bogdan.lazarescu@gmail.com")
    leaky = create_backup(output_dir=export.parent, label="production-leaky").path
    call_command("flush", interactive=False, verbosity=0)
    User.objects.create(email="dev-marker@example.com", password="!")
    before = fingerprint()

    with pytest.raises(LeakFound):
        import_anonymized(leaky)

    assert fingerprint() == before
    assert found(originals, database_dump()) == []
    assert leftover_databases() == []


def test_an_anonymization_failing_midway_leaves_the_working_database_as_it_was(
    production_export, settings
):
    export, originals = production_export
    # A rule that fails on documents, after firms, users, clients and cases were rewritten.
    documents = {**settings.ANONYMIZATION["documents"], "mime_type": "person:" + "x" * 200}
    settings.ANONYMIZATION = {**settings.ANONYMIZATION, "documents": documents}
    before = fingerprint()

    with pytest.raises(AnonymizationError, match="value too long"):
        import_anonymized(export)

    assert fingerprint() == before
    assert found(originals, database_dump()) == []
    assert leftover_databases() == []
    assert export.exists()


def test_the_command_refuses_a_missing_export_in_one_line(manage, tmp_path):
    completed = manage("import_anonymized", str(tmp_path / "missing.dump"), "--noinput")

    assert completed.returncode != 0
    assert (
        completed.stderr.strip()
        == f"CommandError: export file {tmp_path / 'missing.dump'} does not exist"
    )
