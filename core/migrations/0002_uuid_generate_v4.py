"""`uuid_generate_v4()` on every server, so that upstream's SQL runs (its defaults and inserts call
it): the function of the uuid-ossp extension where the server ships it (0001 installs it), and
otherwise, as on the embedded server, a function of the same name and result backed by the core
gen_random_uuid() (a version 4 UUID from a cryptographically strong random source, as
uuid-ossp's). The project's own tables default to gen_random_uuid() and need neither.

On a server that later gains uuid-ossp, `CREATE EXTENSION "uuid-ossp"` reports that the function
already exists: drop this one first (`DROP FUNCTION uuid_generate_v4()`; nothing of the project
depends on it). Reversing drops it, never the extension's.
"""

from django.db import migrations

CREATE_FUNCTION = """
DO $$
BEGIN
    IF to_regprocedure('uuid_generate_v4()') IS NOT NULL THEN
        RETURN;  -- uuid-ossp's, or one already there
    END IF;
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'uuid-ossp') THEN
        CREATE EXTENSION "uuid-ossp";
        RETURN;
    END IF;
    CREATE FUNCTION uuid_generate_v4()
    RETURNS uuid
    LANGUAGE sql
    VOLATILE PARALLEL SAFE
    RETURN gen_random_uuid();

    COMMENT ON FUNCTION uuid_generate_v4() IS
        'uuid-ossp''s uuid_generate_v4() where the server lacks that extension: a random '
        '(version 4) UUID from gen_random_uuid(). Drop it before CREATE EXTENSION "uuid-ossp".';
END
$$;
"""
DROP_FUNCTION = """
DO $$
BEGIN
    -- Only this migration's function: one that belongs to an extension is left to its owner.
    IF EXISTS (
        SELECT 1 FROM pg_proc AS p
         WHERE p.oid = to_regprocedure('uuid_generate_v4()')
           AND NOT EXISTS (SELECT 1 FROM pg_depend AS d
                            WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                              AND d.deptype = 'e')
    ) THEN
        DROP FUNCTION uuid_generate_v4();
    END IF;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_extensions_and_shared_functions"),
    ]

    operations = [
        migrations.RunSQL(CREATE_FUNCTION, DROP_FUNCTION),
    ]
