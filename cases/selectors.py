"""Read queries of the cases app: fuzzy search of cases (by their words, misspelled query words
corrected from a trigram-indexed word list) and semantic search of documents (pgvector, served by
the HNSW index), each optionally limited to one firm; and the documents whose embedding is
missing or stale."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connections, router, transaction
from django.db.models import F, Q, QuerySet
from pgvector import Vector

from cases.models import EMBEDDING_DIMENSIONS, Case, Document, Firm
from legalplatform.db.replicas import reads_from_replica
from legalplatform.search import bounded_search

# HNSW candidate list per search (pgvector's default is 40); bench/search.py shows the recall.
HNSW_EF_SEARCH = 100
# pgvector's largest ef_search.
HNSW_MAX_EF_SEARCH = 1000
# With a firm filter the index is scanned again until enough of that firm's documents are
# found (pgvector 0.8 iterative scans), up to this many index tuples.
HNSW_MAX_SCAN_TUPLES = 40000
# What one entry of the HNSW candidate list (ef_search) costs, in documents compared exactly
# (reading a document's 6 kB vector and computing its distance): about 11 on the bench machine
# (bench/search.py: 8 ms for ef_search 100 and 7 us per document). A firm's search compares all
# its documents when that is cheaper than the candidate list the index would need.
HNSW_CANDIDATE_COST = 11

# A query word stands for the words of cases at least this similar to it (pg_trgm similarity of
# the two words, found through the trigram index of case_search_words): "disput" is 0.67 from
# "dispute", "popesku" 0.45 from "popescu", a wrong letter in a word of five ("smxth") 0.33 from
# "smith"; below 0.3 unrelated words start to match.
CASE_WORD_SIMILARITY = 0.3
# ... and for at most this many of them, the most similar first.
CASE_WORD_ALTERNATIVES = 10
# The best matches are first looked for among the newest `limit` × this many cases (of the
# firm), which is enough when one case in this many matches: the work stays bounded however
# many cases match ("contract dispute": 16,000 of 1,000,000; bench/search.py).
NEWEST_CASES_PER_RESULT = 200

# A word with a digit is matched as typed (case_search_words_add leaves it out of the list).
DIGIT = re.compile("[0-9]")

QUERY_WORDS_SQL = """
-- The words of the query, as case_search_vector makes them of a case's text (n: the position),
-- each with the words of the list most similar to it (none for a word with a digit).
WITH query AS (SELECT case_search_lexemes(%(query)s) AS words)
SELECT word.n, word.value, listed.word, listed.similarity
  FROM query
 CROSS JOIN unnest(query.words) WITH ORDINALITY AS word(value, n)
  LEFT JOIN LATERAL case_search_similar_words(word.value, %(alternatives)s) AS listed
         ON word.value !~ '[0-9]'
 ORDER BY word.n, listed.similarity DESC, listed.word
"""

# The ranked cases (id, score) of `ranked`, read in full with their client's name.
RANKED_CASES_SQL = """
SELECT cases.*, clients.name AS client_name, ranked.score
  FROM ({ranked}) AS ranked
  JOIN cases ON cases.id = ranked.id
  JOIN clients ON clients.id = cases.client_id
 ORDER BY ranked.score DESC, cases.opened_date DESC, cases.id DESC
"""

# The newest cases holding, for every query word, one of its best alternatives: all equally
# good, so their score is given.
NEWEST_MATCHES_SQL = """
SELECT id, %(score)s::real AS score
  FROM cases
 WHERE search_vector @@ %(tsquery)s::tsquery {conditions}
 ORDER BY opened_date DESC, id DESC
 LIMIT %(limit)s
"""

# The cases holding, for every query word, any of its alternatives, scored.
BEST_MATCHES_SQL = """
SELECT id, {score} AS score
  FROM cases
 WHERE search_vector @@ %(tsquery)s::tsquery {conditions}
 ORDER BY 2 DESC, opened_date DESC, id DESC
 LIMIT %(limit)s
"""


@dataclass(frozen=True)
class Alternative:
    """A lexeme of cases.search_vector a query word stands for (tsquery syntax), and how similar
    it is to the word (1 = the word itself)."""

    lexeme: str
    similarity: float


@reads_from_replica
def search_cases(query: str, *, firm: Firm | None = None, limit: int = 20) -> list[Case]:
    """Cases whose number, title and client's name hold every word of `query`, each word as
    typed or misspelled, best match first and then newest first.

    Misspellings are forgiven ("contrct disput" finds "Contract Dispute - ABC Corp vs XYZ Ltd");
    words with digits (case numbers, years) match as typed, the last one also as a beginning.
    Each case carries `score` (0-1: the mean over the query's words of the similarity of the word
    of the case it matched) and `client_name`. With `firm`, only that firm's cases.
    """
    query = bounded_search(query)
    if limit <= 0:
        return []
    using = router.db_for_read(Case)
    settings = {"pg_trgm.similarity_threshold": CASE_WORD_SIMILARITY}
    with _query_settings(using, settings), connections[using].cursor() as cursor:
        words = _query_words(cursor, query)
        if not words or not all(words):  # no case holds a word that stands for nothing
            return []
        best = [
            [a for a in alternatives if a.similarity == alternatives[0].similarity]
            for alternatives in words
        ]
        conditions, params = "", {"limit": limit}
        if firm is not None:
            conditions, params["firm"] = "AND firm_id = %(firm)s", firm.pk
        score = sum(alternatives[0].similarity for alternatives in words) / len(words)
        found = _newest_matches(cursor, using, _tsquery(best), score, conditions, params)
        if len(found) == limit or best == words:
            return found
        # Fewer than `limit` cases match the best alternatives: the others are scored.
        params["tsquery"] = _tsquery(words)
        ranked = BEST_MATCHES_SQL.format(score=_score_sql(words, params), conditions=conditions)
        return list(Case.objects.using(using).raw(RANKED_CASES_SQL.format(ranked=ranked), params))


def _query_words(cursor, query: str) -> list[list[Alternative]]:
    """The alternatives of each word of `query`, most similar first (none for a word that stands
    for nothing): a word with a digit (of a case number, a year) stands for itself and, as the
    last word (typed so far), for the words it begins; any other word for the words of cases
    most similar to it, itself included when a case holds it."""
    cursor.execute(QUERY_WORDS_SQL, {"query": query, "alternatives": CASE_WORD_ALTERNATIVES})
    rows = cursor.fetchall()
    alternatives: dict[int, list[Alternative]] = {}
    last = max((n for n, *_ in rows), default=None)
    # case_search_lexemes leaves only letters and digits in a word: nothing to escape.
    for n, value, similar, similarity in rows:
        found = alternatives.setdefault(n, [])
        if DIGIT.search(value):
            found.append(Alternative(f"'{value}'", 1.0))
            if n == last:
                found.append(Alternative(f"'{value}':*", 0.9))
        elif similar is not None:
            found.append(Alternative(f"'{similar}'", similarity))
    return list(alternatives.values())


def _newest_matches(cursor, using, tsquery, score, conditions, params) -> list[Case]:
    """The newest `limit` cases matching `tsquery`, all with `score`: first among the newest
    cases only (see NEWEST_CASES_PER_RESULT), then, if they hold fewer, among all."""
    params = {**params, "tsquery": tsquery, "score": score}
    ranked = RANKED_CASES_SQL.format(ranked=NEWEST_MATCHES_SQL)
    cursor.execute(
        f"SELECT opened_date FROM cases WHERE true {conditions} "
        "ORDER BY opened_date DESC OFFSET %(window)s LIMIT 1",
        {**params, "window": params["limit"] * NEWEST_CASES_PER_RESULT - 1},
    )
    window_start = cursor.fetchone()
    if window_start is not None:
        recent = ranked.format(conditions=f"{conditions} AND opened_date >= %(since)s")
        found = list(Case.objects.using(using).raw(recent, {**params, "since": window_start[0]}))
        if len(found) == params["limit"]:
            return found
    return list(Case.objects.using(using).raw(ranked.format(conditions=conditions), params))


def _tsquery(words: list[list[Alternative]]) -> str:
    """A tsquery matching the cases that hold, for every word, one of its alternatives."""
    return " & ".join(
        "(" + " | ".join(a.lexeme for a in alternatives) + ")" for alternatives in words
    )


def _score_sql(words: list[list[Alternative]], params: dict) -> str:
    """SQL of a case's score, its lexemes and similarities added to `params`: the mean over the
    query's words of the best similarity of an alternative the case holds."""
    terms = []
    for i, alternatives in enumerate(words):
        held = []
        for j, alternative in enumerate(alternatives):
            params[f"lexeme_{i}_{j}"] = alternative.lexeme
            params[f"similarity_{i}_{j}"] = alternative.similarity
            held.append(
                f"CASE WHEN search_vector @@ %(lexeme_{i}_{j})s::tsquery "
                f"THEN %(similarity_{i}_{j})s::real END"
            )
        terms.append(f"coalesce(greatest({', '.join(held)}), 0)")
    return f"({' + '.join(terms)}) / {len(words)}"


DocumentQuery = Document | Sequence[float] | str


@reads_from_replica
def similar_documents(
    query: DocumentQuery, *, firm: Firm | None = None, limit: int = 10
) -> list[Document]:
    """The documents nearest to `query` by cosine distance, nearest first.

    `query` is a Document (which is itself left out), a 1536-dimensional vector, or a text
    (embedded with the configured embedder). Each document carries `distance` (0 = same
    direction, 2 = opposite). With `firm`, only that firm's documents: through the HNSW index
    with a candidate list widened in proportion to how rare the firm's documents are, scanned
    iteratively until `limit` of them are found, or, when comparing all of the firm's documents
    costs less than that list (a small firm, or a firm's small share), exactly.
    """
    if limit <= 0:
        return []
    vector, exclude_id = _query_vector(query)
    params: dict = {"vector": Vector(vector).to_text(), "limit": limit}
    conditions = ["d.content_embedding IS NOT NULL"]
    if exclude_id is not None:
        conditions.append("d.id <> %(exclude)s")
        params["exclude"] = exclude_id
    if firm is not None:
        conditions.append("d.firm_id = %(firm)s")
        params["firm"] = firm.pk
    using = router.db_for_read(Document)
    with connections[using].cursor() as cursor:
        strategy = search_strategy(cursor, firm, limit)
    nearest = NEAREST_EXACT_SQL if strategy.exact else NEAREST_BY_INDEX_SQL
    sql = DOCUMENTS_BY_DISTANCE_SQL.format(
        nearest=nearest.format(conditions=" AND ".join(conditions)), columns=_document_columns()
    )
    with _query_settings(using, strategy.settings):
        return list(Document.objects.using(using).raw(sql, params))


@contextmanager
def _query_settings(using: str, settings: dict[str, object]) -> Iterator[None]:
    """A transaction, or a savepoint in the caller's, in which `settings` hold (SET LOCAL).

    In a caller's transaction they are put back afterwards: a released savepoint keeps SET LOCAL
    values until the whole transaction ends, and e.g. enable_sort = off must not reach the
    caller's next queries. After an error the savepoint's rollback undoes them.
    """
    connection = connections[using]
    nested = connection.in_atomic_block
    with transaction.atomic(using=using), connection.cursor() as cursor:
        previous = _set_local(cursor, settings)
        yield
        if nested:
            _set_local(cursor, previous)


def _set_local(cursor, settings: dict[str, object]) -> dict[str, str]:
    """SET LOCAL each of `settings` in one statement; returns the values they had (those set)."""
    if not settings:
        return {}
    names = list(settings)
    # The materialized CTE reads the current values before any set_config of the outer query.
    cursor.execute(
        "WITH previous AS MATERIALIZED (SELECT "
        + ", ".join(f"current_setting(%s, true) AS p{i}" for i in range(len(names)))
        + ") SELECT previous.*, "
        + ", ".join("set_config(%s, %s, true)" for _ in names)
        + " FROM previous",
        [*names, *(x for name in names for x in (name, str(settings[name])))],
    )
    values = cursor.fetchone()[: len(names)]
    return {name: value for name, value in zip(names, values, strict=True) if value is not None}


@dataclass(frozen=True)
class SearchStrategy:
    """How similar_documents finds the nearest: every distance computed (`exact`) or through the
    HNSW index, and the settings for its transaction."""

    exact: bool
    settings: dict[str, object] = field(default_factory=dict)


def search_strategy(cursor, firm: Firm | None, limit: int) -> SearchStrategy:
    """The strategy for a search of `limit` documents, of `firm` or of all firms."""
    if firm is None:
        return SearchStrategy(
            exact=False,
            settings={"hnsw.ef_search": max(HNSW_EF_SEARCH, limit), "hnsw.iterative_scan": "off"},
        )
    documents, firm_documents = _estimated_documents(cursor, firm)
    # The candidate list holds about `limit` of the firm's documents.
    share = firm_documents / max(documents, firm_documents, 1)
    ef_search = max(HNSW_EF_SEARCH, round(limit / share)) if share else HNSW_MAX_EF_SEARCH
    if firm_documents <= HNSW_CANDIDATE_COST * ef_search:
        return SearchStrategy(exact=True)
    return SearchStrategy(
        exact=False,
        settings={
            "hnsw.ef_search": min(ef_search, HNSW_MAX_EF_SEARCH),
            "hnsw.iterative_scan": "relaxed_order",
            "hnsw.max_scan_tuples": HNSW_MAX_SCAN_TUPLES,
            # The firm's documents could also be read through documents.firm_id and sorted; the
            # planner may price that below the HNSW scan, which is the faster at this size.
            "enable_sort": "off",
        },
    )


# The nearest documents through the HNSW index. With the iterative scan's relaxed_order a few rows
# may come out of order: the materialized CTE takes the first `limit` and the outer query puts
# them in exact order (pgvector docs).
NEAREST_BY_INDEX_SQL = """
    SELECT d.id, d.content_embedding <=> %(vector)s::vector AS distance
    FROM documents d
    WHERE {conditions}
    ORDER BY d.content_embedding <=> %(vector)s::vector
    LIMIT %(limit)s
"""

# The nearest documents by computing every distance: the documents are read through an index on
# the filter (documents.firm_id) into the materialized CTE, which the HNSW index cannot serve.
NEAREST_EXACT_SQL = """
    WITH candidates AS MATERIALIZED (
        SELECT d.id, d.content_embedding
        FROM documents d
        WHERE {conditions}
    )
    SELECT id, content_embedding <=> %(vector)s::vector AS distance
    FROM candidates
    ORDER BY distance
    LIMIT %(limit)s
"""

DOCUMENTS_BY_DISTANCE_SQL = """
    WITH nearest AS MATERIALIZED ({nearest})
    SELECT {columns}, nearest.distance
    FROM nearest JOIN documents d ON d.id = nearest.id
    ORDER BY nearest.distance, d.id
"""


def _document_columns() -> str:
    """The columns of a Document but the embedding (results do not need 6 kB each)."""
    return ", ".join(
        f"d.{field.column}"
        for field in Document._meta.concrete_fields
        if field.name != "content_embedding"
    )


def _estimated_documents(cursor, firm: Firm) -> tuple[float, float]:
    """The planner's estimates of all documents and of `firm`'s: no rows are read or counted."""
    estimates = []
    for condition, params in (("true", []), ("firm_id = %s", [firm.pk])):
        cursor.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM documents WHERE {condition}", params)
        plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        estimates.append(plan[0]["Plan"]["Plan Rows"])
    return estimates[0], estimates[1]


def _query_vector(query: DocumentQuery) -> tuple[list[float], object | None]:
    """The vector to search with, and the id of a document to leave out of the results."""
    from cases.embeddings import get_embedder

    if isinstance(query, Document):
        vector = query.content_embedding
        if vector is None:
            vector = get_embedder().embed([query.embedding_text])[0]
        return [float(x) for x in vector], query.pk
    if isinstance(query, str):
        return get_embedder().embed([bounded_search(query)])[0], None
    vector = [float(x) for x in query]
    if len(vector) != EMBEDDING_DIMENSIONS:
        raise ValueError(
            f"a query vector needs {EMBEDDING_DIMENSIONS} dimensions; this one has {len(vector)}"
        )
    return vector, None


def documents_needing_embedding(embedder_name: str) -> QuerySet[Document]:
    """Documents without an embedding, or whose embedding was made from other text (title or
    content changed since) or by another embedder than `embedder_name`."""
    return Document.objects.filter(
        Q(content_embedding__isnull=True)
        | Q(embedding_source_hash__isnull=True)
        | ~Q(embedding_source_hash=F("content_hash"))
        | Q(embedding_model__isnull=True)
        | ~Q(embedding_model=embedder_name)
    )


# The words without digits the cases hold: what case_search_words must list.
HELD_WORDS_SQL = """
SELECT word
  FROM (SELECT DISTINCT unnest(tsvector_to_array(search_vector)) AS word FROM cases) AS words
 WHERE word !~ '[0-9]'
"""

# The cases whose words are not those of their number, title and client's name.
STALE_CASES_CONDITION = """
cases.search_vector IS DISTINCT FROM
case_search_vector(cases.case_number, cases.title, clients.name)
"""

SEARCH_DRIFT_SQL = f"""
-- What the search triggers keep, computed afresh: the cases whose words are not those of their
-- number, title and client's name, and the words missing from or left in case_search_words.
WITH held AS ({HELD_WORDS_SQL}),
stale AS (
    SELECT cases.id::text AS item
      FROM cases
      JOIN clients ON clients.id = cases.client_id
     WHERE {STALE_CASES_CONDITION}
),
missing AS (SELECT word AS item FROM held EXCEPT SELECT word FROM case_search_words),
extra AS (SELECT word AS item FROM case_search_words EXCEPT SELECT word FROM held)
SELECT 'stale cases', count(*), (array_agg(item ORDER BY item))[1:%(sample)s] FROM stale
UNION ALL
SELECT 'missing words', count(*), (array_agg(item ORDER BY item))[1:%(sample)s] FROM missing
UNION ALL
SELECT 'extra words', count(*), (array_agg(item ORDER BY item))[1:%(sample)s] FROM extra
"""


def case_search_drift(*, using: str = "default", sample: int = 5) -> dict[str, tuple[int, list]]:
    """{"stale cases" | "missing words" | "extra words": (count, first `sample`)} where the search
    data differ from what the triggers keep (cases.0005), in one statement (one snapshot): all
    zero unless cases or clients were written with the triggers disabled."""
    with connections[using].cursor() as cursor:
        cursor.execute(SEARCH_DRIFT_SQL, {"sample": sample})
        return {kind: (count, items or []) for kind, count, items in cursor.fetchall()}
