"""skill_usage_logs becomes a table partitioned by range on executed_at, one partition per
calendar month of Europe/Bucharest (the rollup's days never straddle two partitions), plus a
default partition for strays. The existing table, with its rows, its indexes and its keys, is
attached as the first partition, `skill_usage_logs_before_YYYY_MM`, covering everything before
the bound 0013 proved with its CHECK constraint: nothing is rewritten or scanned under the lock
(a catalog change, milliseconds; the docstring of each step says why).

Django's model keeps `id` as its primary key (Django 5.2's admin refuses CompositePrimaryKey
models); the database's primary key is (id, executed_at), as a partitioned table's must hold its
partition key. The ids stay unique: gen_random_uuid(), and the ORM looks a log up by id on the
index (id, executed_at) of each partition.

The statistics triggers (0010) move to the partitioned table: statement-level triggers with
transition tables see every row a statement routes to any partition, and the rows an UPDATE of
executed_at moves from one partition to another (old row in OLD TABLE, new row in NEW TABLE).
Write through skill_usage_logs, never into a partition directly (its statements fire no
statistics trigger). `manage.py usage_partitions` creates the months ahead; skills.checks warns
when next month's is missing; `manage.py prune_usage_logs` drops whole months.

Reversing merges every partition's rows back into the first one (in SQL, no trigger fires: the
statistics do not move) and makes it the plain table again, primary key (id), with 0013's index
and CHECK (its bound computed again).
"""

from importlib import import_module

from django.db import migrations

deltas_0010 = import_module("skills.migrations.0010_usage_deltas_folded_later")
prepared_0013 = import_module("skills.migrations.0013_usage_logs_partition_key_prepared")

# skill_usage_live_figures() is a SQL-standard body, bound to the table it reads when created:
# created again, it reads the partitioned table (forwards) or the plain one (backwards).
REBIND_FIGURES_FUNCTION = deltas_0010.CREATE_FIGURES_FUNCTION.replace(
    "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"
)

TRIGGERS = """
CREATE TRIGGER skill_usage_deltas_on_insert
    AFTER INSERT ON skill_usage_logs
    REFERENCING NEW TABLE AS new_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION record_skill_usage_deltas();
CREATE TRIGGER skill_usage_deltas_on_update
    AFTER UPDATE ON skill_usage_logs
    REFERENCING OLD TABLE AS old_logs NEW TABLE AS new_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION record_skill_usage_deltas();
CREATE TRIGGER skill_usage_deltas_on_delete
    AFTER DELETE ON skill_usage_logs
    REFERENCING OLD TABLE AS old_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION record_skill_usage_deltas();
CREATE TRIGGER skill_usage_recount_on_truncate
    AFTER TRUNCATE ON skill_usage_logs
    FOR EACH STATEMENT
    EXECUTE FUNCTION recount_skill_usage_after_truncate();
"""
DROP_TRIGGERS = """
DROP TRIGGER skill_usage_recount_on_truncate ON skill_usage_logs;
DROP TRIGGER skill_usage_deltas_on_delete ON skill_usage_logs;
DROP TRIGGER skill_usage_deltas_on_update ON skill_usage_logs;
DROP TRIGGER skill_usage_deltas_on_insert ON skill_usage_logs;
"""

CREATE_PARTITION_FUNCTION = """
-- The partition of one calendar month (Europe/Bucharest), created if missing; returns its name,
-- skill_usage_logs_YYYY_MM. The default partition must hold no row of that month (a stray
-- there is moved in first, in SQL: the statistics do not move). Used by this migration and by
-- `manage.py usage_partitions`.
CREATE FUNCTION create_skill_usage_partition(month date)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    first timestamptz := (date_trunc('month', month)::timestamp AT TIME ZONE 'Europe/Bucharest');
    next timestamptz := ((date_trunc('month', month) + interval '1 month')::timestamp
                         AT TIME ZONE 'Europe/Bucharest');
    name text := 'skill_usage_logs_' || to_char(month, 'YYYY_MM');
    strays bigint;
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN name;
    END IF;
    EXECUTE format(
        'CREATE TABLE %I (LIKE skill_usage_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name
    );
    EXECUTE format(
        'WITH moved AS (DELETE FROM skill_usage_logs_default '
        'WHERE executed_at >= %L AND executed_at < %L RETURNING *) '
        'INSERT INTO %I SELECT * FROM moved',
        first, next, name
    );
    GET DIAGNOSTICS strays = ROW_COUNT;
    IF strays > 0 THEN
        RAISE NOTICE '% stray logs of % moved from the default partition', strays, name;
    END IF;
    EXECUTE format(
        'ALTER TABLE skill_usage_logs ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
        name, first, next
    );
    RETURN name;
END;
$$;

COMMENT ON FUNCTION create_skill_usage_partition(date) IS
    'Creates the partition of skill_usage_logs for the calendar month (Europe/Bucharest) of the '
    'given date, if missing; returns its name.';
"""
DROP_PARTITION_FUNCTION = "DROP FUNCTION IF EXISTS create_skill_usage_partition(date);"

PARTITION = """
SET LOCAL lock_timeout = '5s';
DO $$
DECLARE
    bound timestamptz := (
        SELECT substring(pg_get_constraintdef(oid) FROM '''(.*)''')::timestamptz
        FROM pg_constraint WHERE conname = 'skill_usage_logs_legacy_range'
    );
    legacy text := 'skill_usage_logs_before_'
                   || to_char(bound AT TIME ZONE 'Europe/Bucharest', 'YYYY_MM');
    index record;
    foreign_key record;
BEGIN
    IF bound IS NULL THEN
        RAISE EXCEPTION 'skill_usage_logs_legacy_range missing: migrate skills 0013 first';
    END IF;
    LOCK TABLE skill_usage_logs IN ACCESS EXCLUSIVE MODE;
    EXECUTE format('ALTER TABLE skill_usage_logs RENAME TO %I', legacy);
    -- Its key becomes (id, executed_at), on the index 0013 built: a catalog change.
    EXECUTE format(
        'ALTER TABLE %I DROP CONSTRAINT skill_usage_logs_pkey, '
        'ADD CONSTRAINT skill_usage_logs_pkey_p0 PRIMARY KEY '
        'USING INDEX skill_usage_logs_id_executed_at_key',
        legacy
    );
    EXECUTE 'DROP TRIGGER skill_usage_recount_on_truncate ON ' || quote_ident(legacy);
    EXECUTE 'DROP TRIGGER skill_usage_deltas_on_delete ON ' || quote_ident(legacy);
    EXECUTE 'DROP TRIGGER skill_usage_deltas_on_update ON ' || quote_ident(legacy);
    EXECUTE 'DROP TRIGGER skill_usage_deltas_on_insert ON ' || quote_ident(legacy);

    -- The partitioned table: the same columns, defaults, NOT NULLs, CHECKs and comments.
    EXECUTE format(
        'CREATE TABLE skill_usage_logs (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
        'INCLUDING COMMENTS INCLUDING STORAGE) PARTITION BY RANGE (executed_at)',
        legacy
    );
    ALTER TABLE skill_usage_logs DROP CONSTRAINT skill_usage_logs_legacy_range;
    EXECUTE format(
        'COMMENT ON TABLE skill_usage_logs IS %L',
        obj_description(legacy::regclass, 'pg_class')
    );
    ALTER TABLE skill_usage_logs
        ADD CONSTRAINT skill_usage_logs_pkey PRIMARY KEY (id, executed_at);
    -- The same keys (ATTACH takes the partition's own as theirs: nothing is validated again).
    FOR foreign_key IN
        SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint
        WHERE conrelid = legacy::regclass AND contype = 'f'
    LOOP
        EXECUTE format('ALTER TABLE skill_usage_logs ADD CONSTRAINT %I %s',
                       foreign_key.conname, foreign_key.definition);
    END LOOP;

    -- The indexes: the partition's keep theirs under a suffixed name; the partitioned table's
    -- take the names Django knows, and ATTACH each partition index (nothing is built).
    FOR index IN
        SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition
        FROM pg_index AS x JOIN pg_class AS i ON i.oid = x.indexrelid
        WHERE x.indrelid = legacy::regclass
          AND i.relname <> 'skill_usage_logs_pkey_p0'
    LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', index.name, index.name || '_p0');
        EXECUTE replace(
            replace(index.definition, 'INDEX ' || index.name || ' ON ',
                    'INDEX ' || index.name || ' ON ONLY '),
            'public.' || legacy || ' ', 'public.skill_usage_logs '
        );
    END LOOP;

    -- Each index of the partitioned table takes the partition's matching one, the key too.
    EXECUTE format(
        'ALTER TABLE skill_usage_logs ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)',
        legacy, bound
    );
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT skill_usage_logs_legacy_range', legacy);
    CREATE TABLE skill_usage_logs_default PARTITION OF skill_usage_logs DEFAULT;
    PERFORM create_skill_usage_partition((bound AT TIME ZONE 'Europe/Bucharest')::date);
END
$$;
"""

UNPARTITION = """
SET LOCAL lock_timeout = '5s';
SET CONSTRAINTS ALL IMMEDIATE;  -- the copied rows' key checks now, before ALTER TABLE
DROP FUNCTION skill_usage_live_figures();  -- bound to the partitioned table; created again
DO $$
DECLARE
    legacy text := (
        SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'skill_usage_logs'::regclass
          AND pg_get_expr(c.relpartbound, c.oid) LIKE '%MINVALUE%'
    );
    partition record;
    index record;
BEGIN
    IF legacy IS NULL THEN
        RAISE EXCEPTION 'no first partition (FROM MINVALUE) to turn back into the table';
    END IF;
    LOCK TABLE skill_usage_logs IN ACCESS EXCLUSIVE MODE;
    EXECUTE format('ALTER TABLE skill_usage_logs DETACH PARTITION %I', legacy);
    FOR partition IN
        SELECT c.relname AS name FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'skill_usage_logs'::regclass
    LOOP
        EXECUTE format('INSERT INTO %I SELECT * FROM %I', legacy, partition.name);
    END LOOP;
    DROP TABLE skill_usage_logs;  -- and its other partitions, whose rows were copied
    EXECUTE format('ALTER TABLE %I RENAME TO skill_usage_logs', legacy);
    FOR index IN
        SELECT i.relname AS name FROM pg_index AS x JOIN pg_class AS i ON i.oid = x.indexrelid
        WHERE x.indrelid = 'skill_usage_logs'::regclass AND i.relname LIKE '%\\_p0'
          AND i.relname <> 'skill_usage_logs_pkey_p0'
    LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', index.name, left(index.name, -3));
    END LOOP;
    ALTER TABLE skill_usage_logs DROP CONSTRAINT skill_usage_logs_pkey_p0,
        ADD CONSTRAINT skill_usage_logs_pkey PRIMARY KEY (id);
    -- Back to the state after 0013 (built here in the transaction: a reverse is rare).
    CREATE UNIQUE INDEX skill_usage_logs_id_executed_at_key ON skill_usage_logs (id, executed_at);
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0013_usage_logs_partition_key_prepared"),
    ]

    operations = [
        migrations.RunSQL(CREATE_PARTITION_FUNCTION, DROP_PARTITION_FUNCTION),
        migrations.RunSQL(
            PARTITION + TRIGGERS + REBIND_FIGURES_FUNCTION,
            UNPARTITION
            + TRIGGERS
            + deltas_0010.CREATE_FIGURES_FUNCTION
            + prepared_0013.ADD_RANGE_CHECK,
        ),
    ]
