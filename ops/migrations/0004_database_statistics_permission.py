"""The permission of the admin's database statistics page (ops.view_database_statistics): the
page shows server settings and statement texts, so staff see it only with this permission (or as
superusers). Django creates the Permission row after migrate; this only records the option."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ops", "0003_checksums_after_the_core_move")]

    operations = [
        migrations.AlterModelOptions(
            name="migrationrecord",
            options={
                "ordering": ["applied_at", "id"],
                "permissions": [
                    ("view_database_statistics", "Can view the database statistics page")
                ],
            },
        ),
    ]
