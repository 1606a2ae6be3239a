"""First migration of the project: the extensions every app relies on and the shared trigger
function that keeps `updated_at` columns current. Runs before any table is created."""

from django.contrib.postgres.operations import CreateExtension, TrigramExtension
from django.db import migrations

# uuid-ossp is optional: the embedded server does not ship it, and every primary key also has
# the core gen_random_uuid() as its database default.
CREATE_UUID_OSSP = """
-- uuid_generate_v4(), where the server ships uuid-ossp
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'uuid-ossp') THEN
        CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
    END IF;
END
$$;
"""
DROP_UUID_OSSP = 'DROP EXTENSION IF EXISTS "uuid-ossp";'

CREATE_UPDATED_AT_FUNCTION = """
-- Shared by the BEFORE UPDATE triggers of every table with an updated_at column:
-- the row's updated_at becomes the time of the statement's transaction.
CREATE OR REPLACE FUNCTION update_updated_at_column()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION update_updated_at_column() IS
    'BEFORE UPDATE trigger function: sets NEW.updated_at to now().';
"""
DROP_UPDATED_AT_FUNCTION = "DROP FUNCTION IF EXISTS update_updated_at_column();"


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        CreateExtension("vector"),  # pgvector: embeddings, 1536 dimensions
        TrigramExtension(),  # pg_trgm: fuzzy search on names and titles
        migrations.RunSQL(CREATE_UUID_OSSP, DROP_UUID_OSSP),
        migrations.RunSQL(CREATE_UPDATED_AT_FUNCTION, DROP_UPDATED_AT_FUNCTION),
    ]
