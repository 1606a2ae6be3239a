"""Word search of cases (cases.selectors.search_cases): every case carries the words of its number,
title and client's name (cases.search_vector, GIN-indexed), and the database keeps the list of
those words (case_search_words, trigram-indexed), from which a misspelled query word is
corrected. Scoring every title that shares trigrams with the query cost 8 µs per match, and a
common word matched tens of thousands of the million cases (bench/search.py, docs/search.md).

Filling search_vector rewrites every case: about two minutes per million cases."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations, models

CREATE_FUNCTIONS = """
-- The words a case is found by: the lower-case runs of letters and digits of a text
-- ('S.C. Popescu-Ionescu S.R.L.' gives s, c, popescu, ionescu, s, r, l).
CREATE FUNCTION case_search_lexemes(value text)
RETURNS text[]
LANGUAGE sql
IMMUTABLE STRICT PARALLEL SAFE
RETURN array_remove(regexp_split_to_array(lower(value), '[^[:alnum:]]+'), '');

COMMENT ON FUNCTION case_search_lexemes(text) IS
    'The lower-case words (runs of letters and digits) of a text, for search_cases.';

CREATE FUNCTION case_search_vector(case_number text, title text, client_name text)
RETURNS tsvector
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN array_to_tsvector(case_search_lexemes(concat_ws(' ', case_number, title, client_name)));

COMMENT ON FUNCTION case_search_vector(text, text, text) IS
    'cases.search_vector: the words of a case''s number, title and client''s name.';
"""

DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS case_search_vector(text, text, text);
DROP FUNCTION IF EXISTS case_search_lexemes(text);
"""

WORDS_TABLE_COMMENT = (
    "The words (without digits) of every case's search_vector, kept by triggers on cases."
)

CREATE_WORDS_TABLE = f"""
CREATE TABLE case_search_words (
    word text PRIMARY KEY
);

COMMENT ON TABLE case_search_words IS '{WORDS_TABLE_COMMENT.replace("'", "''")}';

-- search_cases: the words most similar to a query word (pg_trgm similarity, the % operator).
-- Written seldom and read by every search: no pending list for reads to scan (fastupdate).
CREATE INDEX idx_case_search_words_trgm ON case_search_words
    USING gin (word gin_trgm_ops) WITH (fastupdate = off);
"""

DROP_WORDS_TABLE = """
DROP TABLE IF EXISTS case_search_words;
"""

CREATE_TRIGGERS = """
-- A case's words: set on every INSERT (rows from Django, COPY or SQL alike) and whenever its
-- number, title, client or the words themselves are written, so they cannot drift.
CREATE FUNCTION cases_search_vector()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.search_vector := case_search_vector(
        NEW.case_number,
        NEW.title,
        (SELECT clients.name FROM clients WHERE clients.id = NEW.client_id));
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION cases_search_vector() IS
    'BEFORE INSERT/UPDATE trigger function: sets cases.search_vector.';

CREATE TRIGGER cases_search_vector
    BEFORE INSERT OR UPDATE OF case_number, title, client_id, search_vector ON cases
    FOR EACH ROW
    EXECUTE FUNCTION cases_search_vector();

-- A client renamed: its cases' words are emptied, which cases_search_vector computes again
-- from the new name. One statement for all the clients a statement renamed.
CREATE FUNCTION clients_name_to_cases()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE cases
       SET search_vector = NULL
      FROM new_clients
      JOIN old_clients ON old_clients.id = new_clients.id
     WHERE cases.client_id = new_clients.id
       AND new_clients.name IS DISTINCT FROM old_clients.name;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION clients_name_to_cases() IS
    'AFTER UPDATE statement trigger function: recomputes the words of renamed clients'' cases.';

CREATE TRIGGER clients_name_to_cases
    AFTER UPDATE ON clients
    REFERENCING OLD TABLE AS old_clients NEW TABLE AS new_clients
    FOR EACH STATEMENT
    EXECUTE FUNCTION clients_name_to_cases();

-- The word list holds the words of cases without digits (case numbers and years are matched
-- only as typed). Words are inserted in one order, so that concurrent writers cannot deadlock.
CREATE FUNCTION case_search_words_add(words text[])
RETURNS void
LANGUAGE sql
AS $$
    INSERT INTO case_search_words (word)
    SELECT word
      FROM unnest(words) AS word
     WHERE word !~ '[0-9]'
     ORDER BY word
    ON CONFLICT DO NOTHING;
$$;

-- Words no case holds any more leave the list (a renamed or deleted client's name goes with
-- it). A few words are each looked up in idx_cases_search_vector; for many (a rewrite of many
-- cases, such as anonymize's) one pass over every case's words costs less.
CREATE FUNCTION case_search_words_forget(words text[])
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF cardinality(words) <= 100 THEN
        DELETE FROM case_search_words
         WHERE word = ANY (words)
           AND NOT EXISTS (
                   SELECT FROM cases
                    WHERE cases.search_vector @@ quote_literal(case_search_words.word)::tsquery);
    ELSE
        DELETE FROM case_search_words
         WHERE word = ANY (words)
           AND NOT EXISTS (
                   SELECT FROM cases, unnest(tsvector_to_array(cases.search_vector)) AS lexeme
                    WHERE lexeme = case_search_words.word);
    END IF;
END;
$$;

-- The statement's words compared as sets: a word one row drops and another takes stays.
CREATE FUNCTION case_search_words_sync()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
DECLARE
    added text[];
    removed text[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        -- DELETE: a TRUNCATE of both tables at once (Django's flush) has the list in use.
        DELETE FROM case_search_words;
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        added := array(SELECT DISTINCT unnest(tsvector_to_array(search_vector)) FROM new_cases);
    ELSIF TG_OP = 'DELETE' THEN
        removed := array(SELECT DISTINCT unnest(tsvector_to_array(search_vector)) FROM old_cases);
    ELSE
        -- Only the rows whose words changed (an update of a status leaves the list alone).
        WITH changed AS (
            SELECT new_cases.search_vector AS new_vector, old_cases.search_vector AS old_vector
              FROM new_cases
              JOIN old_cases ON old_cases.id = new_cases.id
             WHERE new_cases.search_vector IS DISTINCT FROM old_cases.search_vector
        ),
        new_words AS (SELECT unnest(tsvector_to_array(new_vector)) AS word FROM changed),
        old_words AS (SELECT unnest(tsvector_to_array(old_vector)) AS word FROM changed)
        SELECT array(SELECT word FROM new_words EXCEPT SELECT word FROM old_words),
               array(SELECT word FROM old_words EXCEPT SELECT word FROM new_words)
          INTO added, removed;
    END IF;
    IF cardinality(added) > 0 THEN
        PERFORM case_search_words_add(added);
    END IF;
    IF cardinality(removed) > 0 THEN
        PERFORM case_search_words_forget(removed);
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION case_search_words_sync() IS
    'AFTER statement trigger function on cases: keeps case_search_words.';

CREATE TRIGGER case_search_words_insert
    AFTER INSERT ON cases
    REFERENCING NEW TABLE AS new_cases
    FOR EACH STATEMENT
    EXECUTE FUNCTION case_search_words_sync();

CREATE TRIGGER case_search_words_update
    AFTER UPDATE ON cases
    REFERENCING OLD TABLE AS old_cases NEW TABLE AS new_cases
    FOR EACH STATEMENT
    EXECUTE FUNCTION case_search_words_sync();

CREATE TRIGGER case_search_words_delete
    AFTER DELETE ON cases
    REFERENCING OLD TABLE AS old_cases
    FOR EACH STATEMENT
    EXECUTE FUNCTION case_search_words_sync();

CREATE TRIGGER case_search_words_truncate
    AFTER TRUNCATE ON cases
    FOR EACH STATEMENT
    EXECUTE FUNCTION case_search_words_sync();

-- The cases that exist already (cases_search_vector computes, case_search_words_update lists).
UPDATE cases SET search_vector = NULL;
"""

CREATE_LOOKUP = """
-- search_cases: the words of the list most similar to a query word, through the list's trigram
-- index (% holds from pg_trgm.similarity_threshold up). The planner prices the % test of a
-- word at one operator where it computes a trigram similarity (1-2 us a word): it would read a
-- list of thousands of words whole rather than its index, hence the settings.
CREATE FUNCTION case_search_similar_words(query_word text, how_many integer)
RETURNS TABLE (word text, similarity real)
LANGUAGE sql
STABLE STRICT
SET enable_seqscan = off
SET enable_indexscan = off
SET enable_indexonlyscan = off
AS $$
    SELECT listed.word, similarity(listed.word, query_word)
      FROM case_search_words AS listed
     WHERE listed.word % query_word
     ORDER BY 2 DESC, 1
     LIMIT how_many;
$$;
"""

DROP_LOOKUP = """
DROP FUNCTION IF EXISTS case_search_similar_words(text, integer);
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS case_search_words_truncate ON cases;
DROP TRIGGER IF EXISTS case_search_words_delete ON cases;
DROP TRIGGER IF EXISTS case_search_words_update ON cases;
DROP TRIGGER IF EXISTS case_search_words_insert ON cases;
DROP FUNCTION IF EXISTS case_search_words_sync();
DROP FUNCTION IF EXISTS case_search_words_forget(text[]);
DROP FUNCTION IF EXISTS case_search_words_add(text[]);
DROP TRIGGER IF EXISTS clients_name_to_cases ON clients;
DROP FUNCTION IF EXISTS clients_name_to_cases();
DROP TRIGGER IF EXISTS cases_search_vector ON cases;
DROP FUNCTION IF EXISTS cases_search_vector();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0004_document_firm"),
    ]

    operations = [
        migrations.RunSQL(CREATE_FUNCTIONS, DROP_FUNCTIONS),
        migrations.AddField(
            model_name="case",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(
                db_comment="The words of case_number, title and the client's name (set by the database)",
                editable=False,
                null=True,
            ),
        ),
        # The table as CreateModel would make it but for the text_pattern_ops twin Django adds
        # to a text primary key, which no query of a word list needs.
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(CREATE_WORDS_TABLE, DROP_WORDS_TABLE)],
            state_operations=[
                migrations.CreateModel(
                    name="CaseSearchWord",
                    fields=[("word", models.TextField(primary_key=True, serialize=False))],
                    options={
                        "db_table": "case_search_words",
                        "db_table_comment": WORDS_TABLE_COMMENT,
                        "default_permissions": (),
                        "indexes": [
                            django.contrib.postgres.indexes.GinIndex(
                                fastupdate=False,
                                fields=["word"],
                                name="idx_case_search_words_trgm",
                                opclasses=["gin_trgm_ops"],
                            )
                        ],
                    },
                ),
            ],
        ),
        migrations.RunSQL(CREATE_LOOKUP, DROP_LOOKUP),
        migrations.RunSQL(CREATE_TRIGGERS, DROP_TRIGGERS),
        migrations.AddIndex(
            model_name="case",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_vector"], name="idx_cases_search_vector"
            ),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["-opened_date"], name="idx_cases_opened"),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["firm", "-opened_date"], name="idx_cases_firm_opened"),
        ),
    ]
