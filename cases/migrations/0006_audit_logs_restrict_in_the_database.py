"""user_audit_logs → users is ON DELETE RESTRICT ON UPDATE CASCADE in the database, as upstream's
schema said (docs/schema.md, "Foreign-key actions"): a user with audit entries cannot be deleted
with SQL either (an audit trail is kept, not cascaded away), and a changed user id follows into
the entries. Both keys: the audited user and the admin who acted. The ORM is unchanged (PROTECT
refuses first, with Django's ProtectedError).

The table is small (one row per status or role change) and validated here. Reversing gives back
Django's keys (NO ACTION).
"""

from django.db import migrations

from legalplatform.db.foreign_keys import set_foreign_key_actions


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_case_search_words"),
    ]

    operations = [
        migrations.RunSQL(
            set_foreign_key_actions(
                "user_audit_logs", column, "users (id)", on_delete="RESTRICT", on_update="CASCADE"
            ),
            set_foreign_key_actions("user_audit_logs", column, "users (id)"),
        )
        for column in ("user_id", "admin_user_id")
    ]
