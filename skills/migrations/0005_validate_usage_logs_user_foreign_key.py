"""The foreign key skill_usage_logs.user_id → users(id), step 2 of 2: the constraint added
NOT VALID by 0004 is validated, while reads and writes go on.

VALIDATE CONSTRAINT scans the table but takes only SHARE UPDATE EXCLUSIVE, so reads and writes
go on meanwhile; the scan may take minutes on millions of logs, hence no statement_timeout. If a
row points to a user that does not exist, it fails naming that key and changes nothing: set
those user_id to NULL (or fix them) and migrate again.

Reversing drops the constraint and adds it back NOT VALID: the state after 0004.
"""

from django.db import migrations

VALIDATE_FOREIGN_KEY = """
SET LOCAL statement_timeout = 0;
ALTER TABLE skill_usage_logs VALIDATE CONSTRAINT skill_usage_logs_user_id_fkey;
"""
UNVALIDATE_FOREIGN_KEY = """
-- PostgreSQL cannot mark a constraint not valid again; drop it and add it back NOT VALID.
SET LOCAL lock_timeout = '5s';
ALTER TABLE skill_usage_logs DROP CONSTRAINT skill_usage_logs_user_id_fkey;
ALTER TABLE skill_usage_logs
    ADD CONSTRAINT skill_usage_logs_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL
    NOT VALID;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0004_usage_logs_user_foreign_key_not_valid"),
    ]

    operations = [
        migrations.RunSQL(VALIDATE_FOREIGN_KEY, UNVALIDATE_FOREIGN_KEY),
    ]
