"""First migration of the project: the extensions every app relies on and the shared trigger
function that keeps `updated_at` columns current. Runs before any table is created."""

from django.contrib.postgres.operations import CreateExtension, TrigramExtension
from django.db import migrations

# Optional extensions: uuid-ossp where the server ships it (the embedded one does not; every
# primary key also has the core gen_random_uuid() as its default), and pg_stat_statements where
# the server preloads it (the embedded one does), for the slowest statements in `dbstats`.
CREATE_OPTIONAL_EXTENSIONS = """
DO $$
BEGIN
    -- uuid_generate_v4()
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'uuid-ossp') THEN
        CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
    END IF;
    -- per-statement timing, readable only when the library is preloaded
    IF current_setting('shared_preload_libraries') LIKE '%pg_stat_statements%' THEN
        CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
    END IF;
END
$$;
"""
DROP_OPTIONAL_EXTENSIONS = """
DROP EXTENSION IF EXISTS pg_stat_statements;
DROP EXTENSION IF EXISTS "uuid-ossp";
"""

CREATE_UPDATED_AT_FUNCTION = """
-- Shared by the BEFORE UPDATE triggers of every table with an updated_at column:
-- the row's updated_at becomes the start time of the UPDATE statement. Not now(), the
-- transaction's start: a row inserted and then updated in one transaction would get an
-- updated_at earlier than its created_at.
CREATE OR REPLACE FUNCTION update_updated_at_column()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at = statement_timestamp();
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION update_updated_at_column() IS
    'BEFORE UPDATE trigger function: sets NEW.updated_at to statement_timestamp().';
"""
DROP_UPDATED_AT_FUNCTION = "DROP FUNCTION IF EXISTS update_updated_at_column();"


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    # Recorded as ops.0001 by databases migrated before the foundation moved to core.
    replaces = [("ops", "0001_extensions_and_shared_functions")]

    operations = [
        CreateExtension("vector"),  # pgvector: embeddings, 1536 dimensions
        TrigramExtension(),  # pg_trgm: fuzzy search on names and titles
        migrations.RunSQL(CREATE_OPTIONAL_EXTENSIONS, DROP_OPTIONAL_EXTENSIONS),
        migrations.RunSQL(CREATE_UPDATED_AT_FUNCTION, DROP_UPDATED_AT_FUNCTION),
    ]
