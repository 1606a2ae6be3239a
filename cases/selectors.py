"""Read queries of the cases app: fuzzy search of cases (pg_trgm, served by the GIN trigram
indexes) and semantic search of documents (pgvector, served by the HNSW index), each optionally
limited to one firm; and the documents whose embedding is missing or stale."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connections, router, transaction
from django.db.models import F, Q, QuerySet
from pgvector import Vector

from cases.models import EMBEDDING_DIMENSIONS, Case, Document, Firm

# A query word must match a word of the title, case number or client name at least this well
# (pg_trgm word_similarity): "contrct disput" matches "Contract Dispute - …" at 0.67, a swapped
# letter ("ABC Crop") at 0.56; below 0.5 unrelated words start to match and every common
# trigram widens the index scan.
CASE_SEARCH_THRESHOLD = 0.5

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

SEARCH_CASES_SQL = """
WITH matches AS (
    -- Each branch is served by its own GIN trigram index and scores the field it matched. A
    -- case's score, the best word similarity of its three fields, is the best of the fields that
    -- matched: one that did not is below the threshold, so below any that did. Scoring here
    -- saves joining every match to cases and clients again.
    SELECT cases.id, word_similarity(%(query)s, cases.title) AS score, cases.title,
           cases.opened_date, cases.firm_id
    FROM cases
    WHERE %(query)s <%% cases.title
    UNION ALL
    SELECT cases.id, word_similarity(%(query)s, cases.case_number), cases.title,
           cases.opened_date, cases.firm_id
    FROM cases
    WHERE %(query)s <%% cases.case_number
    UNION ALL
    SELECT cases.id, word_similarity(%(query)s, clients.name), cases.title, cases.opened_date,
           cases.firm_id
    FROM clients JOIN cases ON cases.client_id = clients.id
    WHERE %(query)s <%% clients.name
),
best AS (
    -- title and opened_date are the same in every row of a case
    SELECT id, max(score) AS score, similarity(%(query)s, min(title)) AS title_similarity,
           max(opened_date) AS opened_date
    FROM matches
    {firm_filter}
    GROUP BY id
    ORDER BY score DESC, title_similarity DESC, opened_date DESC
    LIMIT %(limit)s
)
-- Only the best `limit` cases are read in full.
SELECT cases.*, clients.name AS client_name, best.score
FROM best
JOIN cases ON cases.id = best.id
JOIN clients ON clients.id = cases.client_id
ORDER BY best.score DESC, best.title_similarity DESC, best.opened_date DESC
"""


def search_cases(query: str, *, firm: Firm | None = None, limit: int = 20) -> list[Case]:
    """Cases whose title, case number or client name resembles `query`, best match first.

    Misspellings are forgiven ("contrct disput" finds "Contract Dispute - ABC Corp vs XYZ Ltd").
    Each case carries `score` (0-1, the best word similarity of the three fields) and
    `client_name`. With `firm`, only that firm's cases.
    """
    query = " ".join(query.split())
    if not query or limit <= 0:
        return []
    params = {"query": query, "limit": limit}
    firm_filter = ""
    if firm is not None:
        firm_filter = "WHERE firm_id = %(firm)s"
        params["firm"] = firm.pk
    using = router.db_for_read(Case)
    sql = SEARCH_CASES_SQL.format(firm_filter=firm_filter)
    with _query_settings(using, {"pg_trgm.word_similarity_threshold": CASE_SEARCH_THRESHOLD}):
        return list(Case.objects.using(using).raw(sql, params))


DocumentQuery = Document | Sequence[float] | str


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
        return get_embedder().embed([query])[0], None
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
