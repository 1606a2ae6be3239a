"""Benchmark of the cases app's search (docs/performance.md, "Search").

Loads a scratch database (COPY) with 1,000,000 cases and 100,000 documents whose embeddings are
random unit vectors in clusters, builds the search indexes after the load, and measures through
the real selectors:

- similar_documents: p50/p95 latency and recall@10 against an exact scan made in the same run
  (a sequential scan computing every distance), next to that scan's own latency: without a firm
  filter (also at other ef_search values) and for firms with ~10%, ~3% and ~1% of the documents,
  naming the path the app chose for each (HNSW or exact);
- the documents list's meaning search as the admin runs it (a typed text embedded by the
  configured embedder, then the nearest documents of the user's firm, as many as the page
  shows): p50/p95 and recall against the exact scan of the same vector;
- search_cases: p50/p95 latency of misspelled queries with the search indexes (the words of
  cases, the trigram index of the word list), against the same queries with those and the
  trigram indexes of titles, numbers and client names dropped (inside a transaction that is
  rolled back); per kind of query and per way the results were found; also limited to the
  firms with ~10% and ~1% of the cases; and apart, one misspelled word of a kind of matter,
  which thousands of cases hold.

    python bench/search.py                  # the full size (7-15 minutes)
    python bench/search.py --quick          # 5,000 documents and 50,000 cases, for a check

The scratch database (default bench_search) is created on the project's server (embedded unless
DATABASE_URL is set) and dropped afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import datetime
import random
import statistics
import string
import time
import uuid

from _bootstrap import setup_django

setup_django()

import psycopg  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from scratch import create_scratch_database, drop_scratch_database, server_params  # noqa: E402

from cases import selectors  # noqa: E402
from cases.models import (  # noqa: E402
    CaseStatus,
    CaseType,
    DocumentStatus,
    DocumentType,
    Firm,
    Priority,
    UserRole,
)
from legalplatform.db.transactions import atomic_without_statement_timeout  # noqa: E402

TRIGRAM_INDEXES = ["idx_cases_title_trgm", "idx_cases_number_trgm", "idx_clients_name_trgm"]
# What search_cases reads: the words of cases and the trigram index of the word list. The
# baseline drops these and the trigram indexes of titles, numbers and client names.
CASE_SEARCH_INDEXES = ["idx_cases_search_vector", "idx_case_search_words_trgm"]
SEARCH_INDEXES = [
    *TRIGRAM_INDEXES,
    "idx_cases_search_vector",
    "idx_documents_title_trgm",
    "idx_documents_embedding_hnsw",
]

MATTERS = [
    "Contract Dispute",
    "Breach of Contract",
    "Patent Infringement",
    "Trademark Opposition",
    "Copyright Claim",
    "Employment Termination Dispute",
    "Wrongful Dismissal",
    "Unpaid Wages",
    "Corporate Merger Due Diligence",
    "Shareholder Dispute",
    "Insolvency Proceedings",
    "Debt Recovery",
    "Fraud Investigation",
    "Tax Evasion Defence",
    "Money Laundering Inquiry",
    "Assault Case",
    "Property Boundary Dispute",
    "Lease Termination",
    "Eviction Proceedings",
    "Construction Defects Claim",
    "Divorce Settlement",
    "Child Custody",
    "Inheritance Dispute",
    "Succession Planning",
    "Medical Malpractice",
    "Personal Injury Claim",
    "Insurance Claim",
    "Product Liability",
    "Data Protection Complaint",
    "Competition Law Review",
    "Public Procurement Challenge",
    "Administrative Appeal",
    "Customs Dispute",
    "Environmental Permit Appeal",
    "Franchise Agreement Review",
    "Loan Agreement Negotiation",
    "Joint Venture Formation",
    "Share Purchase Agreement",
    "Real Estate Acquisition",
    "Defamation Claim",
    "Consumer Protection Claim",
    "Arbitration Proceedings",
    "Enforcement of Judgment",
    "Labour Inspection Appeal",
    "Non-Compete Enforcement",
    "Software License Dispute",
    "Supply Agreement Dispute",
    "Distribution Agreement Termination",
    "Bank Guarantee Claim",
    "Mortgage Enforcement",
]
CLUSTERS = 500  # topics of the documents
LATENT_DIMENSIONS = 12  # directions in which the documents of one topic vary
EF_SWEEP = [40, 64, 100]


# --- Scratch database --------------------------------------------------------------------------


def scratch_params(name: str) -> dict:
    """libpq parameters of scratch database `name`, without the project's statement timeout (the
    loads and index builds run for minutes)."""
    params = {**server_params(), "dbname": name}
    params.pop("options", None)
    return params


# --- Data ----------------------------------------------------------------------------------------


def party_names(rng: random.Random, count: int) -> list[str]:
    from faker import Faker

    fakers = [Faker("ro_RO"), Faker("en_GB"), Faker("de_DE")]
    for i, faker in enumerate(fakers):
        faker.seed_instance(rng.randrange(1 << 30) + i)
    names = set()
    while len(names) < count:
        faker = rng.choice(fakers)
        names.add(faker.company() if rng.random() < 0.6 else faker.name())
    return sorted(names)


def load(params: dict, *, n_cases: int, n_documents: int, n_firms: int, seed: int) -> dict:
    """COPY firms, users, clients, cases and document rows; vectors are made by the server."""
    rng = random.Random(seed)
    names = party_names(rng, max(2000, n_cases // 50))
    # Firm sizes: one firm holds ~10% of the cases, one ~1% (searched exactly), one ~3% (the
    # smallest kind searched through the index), the rest share the remainder.
    firm_ids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(n_firms)]
    firm_weights = [10.0, 1.0, 3.0] + [86.0 / (n_firms - 3)] * (n_firms - 3)
    users_by_firm = {f: [uuid.UUID(int=rng.getrandbits(128)) for _ in range(5)] for f in firm_ids}
    n_clients = max(100, n_cases // 10)
    client_firms = rng.choices(firm_ids, firm_weights, k=n_clients)
    client_ids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(n_clients)]
    client_names = [rng.choice(names) for _ in range(n_clients)]
    today = datetime.date(2026, 1, 1)
    case_ids, case_firms = [], []

    with psycopg.connect(**params) as conn:
        conn.execute("SET statement_timeout = 0")
        columns = "id, name, vat_id, address, email, phone, website"
        with conn.cursor().copy(f"COPY firms ({columns}) FROM STDIN") as copy:
            for i, firm in enumerate(firm_ids):
                copy.write_row((firm, f"Firm {i}", f"RO{10_000_000 + i}", "", "", "", ""))
        columns = "id, firm_id, email, first_name, last_name, role, password, is_superuser"
        with conn.cursor().copy(f"COPY users ({columns}) FROM STDIN") as copy:
            for firm, users in users_by_firm.items():
                for j, user in enumerate(users):
                    role = UserRole.PARTNER if j == 0 else UserRole.ASSOCIATE
                    email = f"{user.hex}@bench.example"
                    copy.write_row((user, firm, email, "Bench", str(j), role, "!", False))
        with conn.cursor().copy("COPY clients (id, firm_id, name) FROM STDIN") as copy:
            for row in zip(client_ids, client_firms, client_names, strict=True):
                copy.write_row(row)
        columns = (
            "id, firm_id, client_id, case_number, title, case_type, status, priority, "
            "opened_date, closed_date"
        )
        statuses = list(CaseStatus.values)
        with conn.cursor().copy(f"COPY cases ({columns}) FROM STDIN") as copy:
            for i in range(n_cases):
                c = rng.randrange(n_clients)
                opened = today - datetime.timedelta(days=rng.randrange(1, 9000))
                status = rng.choice(statuses)
                closed = (
                    opened + datetime.timedelta(days=rng.randrange(0, 700))
                    if status in (CaseStatus.CLOSED, CaseStatus.ARCHIVED)
                    else None
                )
                shape = rng.random()
                if shape < 0.6:
                    title = f"{rng.choice(MATTERS)} - {client_names[c]} vs {rng.choice(names)}"
                elif shape < 0.8:
                    title = f"{client_names[c]} v. {rng.choice(names)}"
                else:
                    title = f"{rng.choice(MATTERS)} - {client_names[c]}"
                case_id = uuid.UUID(int=rng.getrandbits(128))
                case_ids.append(case_id)
                case_firms.append(client_firms[c])
                copy.write_row(
                    (
                        case_id,
                        client_firms[c],
                        client_ids[c],
                        f"CASE-{opened.year}-{i:07d}",
                        title,
                        rng.choice(CaseType.values),
                        status,
                        rng.choice(Priority.values),
                        opened,
                        closed,
                    )
                )
        conn.execute(
            "CREATE UNLOGGED TABLE bench_documents (id uuid, case_id uuid, author uuid, "
            "title text, document_type text, status text, cluster int)"
        )
        with conn.cursor().copy("COPY bench_documents FROM STDIN") as copy:
            for _ in range(n_documents):
                k = rng.randrange(n_cases)
                copy.write_row(
                    (
                        uuid.UUID(int=rng.getrandbits(128)),
                        case_ids[k],
                        users_by_firm[case_firms[k]][0],
                        f"{rng.choice(list(DocumentType.values))} - {rng.choice(MATTERS)}",
                        rng.choice(DocumentType.values),
                        rng.choice(DocumentStatus.values),
                        rng.randrange(CLUSTERS),
                    )
                )
        make_vectors(conn, seed)
        conn.commit()
    return {
        "big_firm": firm_ids[0],
        "small_firm": firm_ids[1],
        "medium_firm": firm_ids[2],
        "client_names": client_names,
    }


VECTOR_SQL = """
-- Topic centres and, per topic, the directions its documents vary in.
SELECT setseed(%(seed)s);
CREATE UNLOGGED TABLE bench_centres AS
    SELECT k AS cluster,
           l2_normalize(array(SELECT random_normal() FROM generate_series(1, 1536 + 0 * k))::vector)
               AS v
    FROM generate_series(0, %(clusters)s - 1) AS k;
CREATE UNLOGGED TABLE bench_basis AS
    SELECT k AS cluster, j,
           l2_normalize(array(SELECT random_normal()
                              FROM generate_series(1, 1536 + 0 * k + 0 * j))::vector) AS v
    FROM generate_series(0, %(clusters)s - 1) AS k, generate_series(1, %(latent)s) AS j;
CREATE INDEX ON bench_basis (cluster);
-- A document: its topic's centre + a random mix of the topic's directions + a little noise.
CREATE FUNCTION pg_temp.bench_vector(topic int, salt int) RETURNS vector
LANGUAGE sql VOLATILE AS $$
    SELECT l2_normalize(
        c.v
        + (SELECT sum(array_fill(0.3 * random_normal() + 0 * salt, ARRAY[1536])::vector * b.v)
           FROM bench_basis b WHERE b.cluster = topic)
        + array(SELECT 0.005 * random_normal() FROM generate_series(1, 1536 + 0 * salt))::vector)
    FROM bench_centres c WHERE c.cluster = topic
$$;
INSERT INTO documents (id, case_id, created_by_user_id, title, content, document_type, status,
                       file_name, file_size_bytes, mime_type, storage_url, version, ai_generated,
                       content_embedding, embedding_source_hash, embedding_model)
SELECT id, case_id, author, title, '', document_type, status, 'document.pdf', 1000,
       'application/pdf', 'r2://legal-docs/bench/' || id, 1, false,
       pg_temp.bench_vector(cluster, row_number() OVER ()::int), NULL, 'bench-random'
FROM bench_documents;
-- Queries: new documents of the same topics, not in the table.
CREATE UNLOGGED TABLE bench_queries AS
    SELECT q, pg_temp.bench_vector(k, q)::text AS v
    FROM (SELECT q, (random() * (%(clusters)s - 1))::int AS k
          FROM generate_series(1, 1000) AS q) AS t;
"""


def make_vectors(conn, seed: int) -> None:
    # Several statements with parameters: bound on the client side.
    with psycopg.ClientCursor(conn) as cursor:
        cursor.execute(
            VECTOR_SQL,
            {"seed": (seed % 1000) / 1000, "clusters": CLUSTERS, "latent": LATENT_DIMENSIONS},
        )


def build_indexes(params: dict, definitions: dict[str, str]) -> dict[str, float]:
    """Create the search indexes after the load; seconds per index."""
    seconds = {}
    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute("SET statement_timeout = 0")
        conn.execute("SET maintenance_work_mem = '2GB'")  # the HNSW graph is built in memory
        for name in SEARCH_INDEXES:
            started = time.perf_counter()
            conn.execute(definitions[name])
            seconds[name] = time.perf_counter() - started
        conn.execute("VACUUM ANALYZE")
    return seconds


# --- Measuring -----------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def exact_neighbours(vector: str, firm_id, k: int = 10) -> tuple[float, list]:
    """The true nearest documents (a sequential scan computing every distance, and a sort), and
    how long that took: the baseline."""
    firm_filter = ""
    params: list = [vector]
    if firm_id is not None:
        firm_filter = "AND firm_id = %s"
        params.append(firm_id)
    params += [vector, k]
    with atomic_without_statement_timeout() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        started = time.perf_counter()
        cursor.execute(
            f"SELECT id, content_embedding <=> %s::vector FROM documents "
            f"WHERE content_embedding IS NOT NULL {firm_filter} "
            f"ORDER BY content_embedding <=> %s::vector LIMIT %s",
            params,
        )
        rows = cursor.fetchall()
    return (time.perf_counter() - started) * 1000, [row[0] for row in rows]


def strategy_label(firm: Firm | None) -> str:
    """How similar_documents searches for `firm` (cases.selectors.search_strategy)."""
    with transaction.atomic(), connection.cursor() as cursor:
        strategy = selectors.search_strategy(cursor, firm, 10)
    if strategy.exact:
        return "exact (firm_id index)"
    iterative = " iterative" if strategy.settings["hnsw.iterative_scan"] != "off" else ""
    return f"HNSW ef {strategy.settings['hnsw.ef_search']}{iterative}"


def measure_semantic(queries: list[str], recall_queries: int, firms: dict) -> list[dict]:
    """similar_documents (as the app calls it) without and with a firm filter, with recall
    against the exact scan; without a filter also at other ef_search values."""
    rows = []
    for label, firm_id in [("all firms", None), *firms.items()]:
        firm = Firm(pk=firm_id) if firm_id else None
        exact = [exact_neighbours(to_text(v), firm_id) for v in queries[:recall_queries]]
        truth = [set(ids) for _, ids in exact]
        exact_ms = [ms for ms, _ in exact]
        for ef in EF_SWEEP if firm is None else [DEFAULT_EF]:
            selectors.HNSW_EF_SEARCH = ef
            for v in queries[:20]:  # warm-up
                selectors.similar_documents(v, firm=firm)
            latencies = []
            hits = []
            for i, v in enumerate(queries):
                ms, found = timed(lambda v=v, f=firm: selectors.similar_documents(v, firm=f))
                latencies.append(ms)
                if i < recall_queries:
                    hits.append(len(truth[i] & {d.pk for d in found}) / max(1, len(truth[i])))
            rows.append(
                {
                    "filter": label,
                    "path": strategy_label(firm) + (" (app)" if ef == DEFAULT_EF else ""),
                    "recall@10": statistics.mean(hits),
                    "p50": percentile(latencies, 50),
                    "p95": percentile(latencies, 95),
                    "exact_p50": percentile(exact_ms, 50),
                    "exact_p95": percentile(exact_ms, 95),
                }
            )
        selectors.HNSW_EF_SEARCH = DEFAULT_EF
    return rows


def meaning_queries(n: int, seed: int) -> list[str]:
    """What a user types into the documents list's meaning search: a few words of a matter."""
    rng = random.Random(seed + 7)
    extra = ["clause", "penalty", "deadline", "notice", "court", "appeal", "payment", "evidence"]
    return [
        f"{rng.choice(MATTERS).lower()} {rng.choice(extra)} {rng.choice(extra)}" for _ in range(n)
    ]


def measure_meaning_search(texts: list[str], recall_queries: int, firms: dict) -> list[dict]:
    """The documents list's meaning search as the admin runs it (cases.admin.DocumentAdmin): the
    text embedded by the configured embedder, then similar_documents of the user's firm with the
    page's limit; recall against the exact scan of the same vector, firm and limit."""
    from cases.admin import DocumentAdmin
    from cases.embeddings import get_embedder

    limit = DocumentAdmin.MEANING_RESULTS
    embedder = get_embedder()
    rows = []
    for label, firm_id in [("all firms (a superuser)", None), *firms.items()]:
        firm = Firm(pk=firm_id) if firm_id else None
        for text in texts[:10]:  # warm-up
            selectors.similar_documents(text, firm=firm, limit=limit)
        latencies, hits, exact_ms = [], [], []
        for i, text in enumerate(texts):
            ms, found = timed(
                lambda t=text, f=firm: selectors.similar_documents(t, firm=f, limit=limit)
            )
            latencies.append(ms)
            if i < recall_queries:
                vector = to_text(embedder.embed([text])[0])
                scan_ms, ids = exact_neighbours(vector, firm_id, k=limit)
                exact_ms.append(scan_ms)
                hits.append(len(set(ids) & {d.pk for d in found}) / max(1, len(ids)))
        rows.append(
            {
                "filter": label,
                "recall": statistics.mean(hits),
                "p50": percentile(latencies, 50),
                "p95": percentile(latencies, 95),
                "exact_p95": percentile(exact_ms, 95),
            }
        )
    return rows


def to_text(vector: list[float]) -> str:
    return "[" + ",".join(map(repr, vector)) + "]"


def misspell(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    edit = rng.choice(["drop", "swap", "replace"])
    if edit == "drop":
        return word[:i] + word[i + 1 :]
    if edit == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + rng.choice(string.ascii_lowercase) + word[i + 1 :]


def case_queries(n: int, seed: int) -> list[tuple[str, str, str]]:
    """(kind, query, case_number it was made from): misspelled words of real cases."""
    rng = random.Random(seed + 1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT cases.case_number, cases.title, clients.name FROM cases "
            "JOIN clients ON clients.id = cases.client_id "
            "ORDER BY md5(cases.id::text || %s) LIMIT %s",
            [str(seed), n],
        )
        sample = cursor.fetchall()
    queries = []
    for i, (number, title, client) in enumerate(sample):
        kind = ["client", "title words", "matter + client", "case number"][i % 4]
        if kind == "client":
            query = " ".join(misspell(w, rng) for w in client.split()[:2])
        elif kind == "title words":
            words = [w for w in title.replace("-", " ").split() if len(w) > 2]
            start = rng.randrange(max(1, len(words) - 2))
            query = " ".join(misspell(w, rng) for w in words[start : start + 3])
        elif kind == "matter + client":
            matter = next((m for m in MATTERS if title.startswith(m)), rng.choice(MATTERS))
            query = f"{misspell(matter.split()[0], rng)} {misspell(client.split()[0], rng)}"
        else:
            query = number.removeprefix("CASE-")
        queries.append((kind, query.lower(), number))
    return queries


def one_word_queries(n: int, seed: int) -> list[tuple[str, str, str]]:
    """(kind, query, ""): the longest word of a kind of matter, misspelled, which thousands of
    cases hold."""
    rng = random.Random(seed + 2)
    return [
        ("one word", misspell(max(rng.choice(MATTERS).split(), key=len), rng).lower(), "")
        for _ in range(n)
    ]


def search_path(statements: list[str]) -> str:
    """How search_cases found its results, from the statements it ran (cases.selectors)."""
    if any("CASE WHEN search_vector" in statement for statement in statements):
        return "scored"
    matching = [statement for statement in statements if "search_vector @@" in statement]
    if not matching:
        return "no word matched"
    return "newest window" if "%(since)s" in matching[-1] else "all matches"


def measure_fuzzy(queries, baseline_queries: int, firms: dict) -> list[dict]:
    """search_cases as the app calls it: all firms (with the search indexes, and without them for
    the first `baseline_queries`), per kind of query and per way the results were found, and
    limited to each of `firms`. The "one word" queries are reported apart, not in "all"."""
    rows = []
    for v in queries[:20]:  # warm-up
        selectors.search_cases(v[1])
    latencies, found = [], 0
    by_kind: dict[str, list[float]] = {}
    by_path: dict[str, list[float]] = {}
    statements: list[str] = []

    def capture(execute, sql_text, params, many, context):
        statements.append(sql_text)
        return execute(sql_text, params, many, context)

    for kind, query, number in queries:
        statements.clear()
        with connection.execute_wrapper(capture):
            ms, results = timed(lambda q=query: selectors.search_cases(q))
        by_kind.setdefault(kind, []).append(ms)
        by_path.setdefault(search_path(statements), []).append(ms)
        if kind != "one word":
            latencies.append(ms)
            found += number in {case.case_number for case in results}
    mixed = [q for q in queries if q[0] != "one word"]
    baseline = []
    with atomic_without_statement_timeout() as cursor:
        for name in [*TRIGRAM_INDEXES, *CASE_SEARCH_INDEXES]:
            cursor.execute(f"DROP INDEX {name}")
        for _kind, query, _number in mixed[:baseline_queries]:
            baseline.append(timed(lambda q=query: selectors.search_cases(q))[0])
        transaction.set_rollback(True)  # the indexes come back
    rows.append(
        {
            "queries": "all",
            "n": len(latencies),
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "found": found / len(latencies),
            "no_index_p50": percentile(baseline, 50),
            "no_index_p95": percentile(baseline, 95),
        }
    )
    for label, groups in (("", by_kind), ("found by: ", by_path)):
        for name, values in groups.items():
            rows.append(
                {
                    "queries": label + name,
                    "n": len(values),
                    "p50": percentile(values, 50),
                    "p95": percentile(values, 95),
                }
            )
    for label, firm_id in firms.items():
        firm = Firm(pk=firm_id)
        values = [
            timed(lambda q=q, f=firm: selectors.search_cases(q, firm=f))[0] for _, q, _ in mixed
        ]
        rows.append(
            {
                "queries": f"all, {label}",
                "n": len(values),
                "p50": percentile(values, 50),
                "p95": percentile(values, 95),
            }
        )
    return rows


def fuzzy_plans(query: str) -> str:
    """EXPLAIN ANALYZE of each statement search_cases runs for `query`, replayed in order in one
    transaction (the selector's settings included)."""
    statements = []

    def capture(execute, sql_text, params, many, context):
        statements.append((sql_text, params))
        return execute(sql_text, params, many, context)

    with connection.execute_wrapper(capture):
        selectors.search_cases(query)
    plans = []
    with transaction.atomic(), connection.cursor() as cursor:
        for sql_text, params in statements:
            if sql_text.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                continue
            if "set_config(" in sql_text:
                cursor.execute(sql_text, params)
                continue
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql_text, params)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return "\n\n".join(plans)


# --- Main ----------------------------------------------------------------------------------------

DEFAULT_EF = selectors.HNSW_EF_SEARCH
SEMANTIC_FLOOR_MS = 20  # the semantic-search floor (p95) at 100,000 documents


def meaning_limit() -> int:
    from cases.admin import DocumentAdmin

    return DocumentAdmin.MEANING_RESULTS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--firms", type=int, default=200)
    parser.add_argument("--queries", type=int, default=200, help="timed queries per measurement")
    parser.add_argument(
        "--recall-queries",
        type=int,
        default=50,
        help="queries checked against an exact scan (each scans every document)",
    )
    parser.add_argument(
        "--baseline-queries",
        type=int,
        default=20,
        help="fuzzy queries timed without the trigram indexes (each a full scan)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="5,000 documents, 50,000 cases, 50 queries: a check, not the figures",
    )
    parser.add_argument("--database-name", default="bench_search")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    if args.quick:
        args.documents, args.cases, args.queries, args.recall_queries = 5000, 50_000, 50, 20
        args.baseline_queries = 10
    if not args.database_name.startswith("bench_"):
        parser.error("--database-name must start with bench_ (the database is dropped)")

    create_scratch_database(args.database_name)
    params = scratch_params(args.database_name)
    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s)",
                [SEARCH_INDEXES],
            )
            definitions = dict(cursor.fetchall())
            for name in SEARCH_INDEXES:
                cursor.execute(f"DROP INDEX {name}")
        print(f"schema: {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        data = load(
            params,
            n_cases=args.cases,
            n_documents=args.documents,
            n_firms=args.firms,
            seed=args.seed,
        )
        print(
            f"load ({args.cases:,} cases, {args.documents:,} documents): "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        build = build_indexes(params, definitions)
        print("index builds: " + ", ".join(f"{k} {v:.0f} s" for k, v in build.items()), flush=True)

        with connection.cursor() as cursor:
            cursor.execute("SELECT v FROM bench_queries ORDER BY q LIMIT %s", [args.queries])
            vectors = [[float(x) for x in row[0].strip("[]").split(",")] for row in cursor]
            cursor.execute(
                "SELECT firm_id, count(*) FROM documents WHERE firm_id = ANY(%s) GROUP BY firm_id",
                [[data["big_firm"], data["medium_firm"], data["small_firm"]]],
            )
            firm_docs = dict(cursor.fetchall())
        firms = {
            f"firm with {firm_docs.get(data[key], 0):,} docs": data[key]
            for key in ("big_firm", "medium_firm", "small_firm")
        }
        semantic = measure_semantic(vectors, args.recall_queries, firms)
        meaning = measure_meaning_search(
            meaning_queries(args.queries, args.seed), args.recall_queries, firms
        )
        queries = case_queries(args.queries, args.seed)
        queries += one_word_queries(args.queries // 4, args.seed)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT firm_id, count(*) FROM cases WHERE firm_id = ANY(%s) GROUP BY firm_id",
                [[data["big_firm"], data["small_firm"]]],
            )
            firm_cases = dict(cursor.fetchall())
        case_firms = {
            f"firm of {firm_cases.get(data[key], 0):,}": data[key]
            for key in ("big_firm", "small_firm")
        }
        fuzzy = measure_fuzzy(queries, args.baseline_queries, case_firms)
        plan = fuzzy_plans(next(q for kind, q, _ in queries if kind == "one word"))
    finally:
        if not args.keep:
            drop_scratch_database(args.database_name)

    print()
    print(
        f"similar_documents at {args.documents:,} documents ({args.queries} queries, recall "
        f"over {args.recall_queries}; the app's ef_search is {DEFAULT_EF}):"
    )
    print(
        f"{'filter':<24}{'path':<34}{'recall@10':>10}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'exact p50':>11}{'exact p95':>11}{'speed-up p95':>14}"
    )
    for row in semantic:
        print(
            f"{row['filter']:<24}{row['path']:<34}{row['recall@10']:>10.3f}"
            f"{row['p50']:>9.1f}{row['p95']:>9.1f}{row['exact_p50']:>11.0f}"
            f"{row['exact_p95']:>11.0f}{row['exact_p95'] / row['p95']:>13.0f}x"
        )
    print()
    print(
        f"the documents list's meaning search (text embedded, then the nearest "
        f"{meaning_limit()}), {args.queries} queries; floor p95 ≤ {SEMANTIC_FLOOR_MS} ms:"
    )
    print(f"{'user':<30}{'recall':>8}{'p50 ms':>9}{'p95 ms':>9}{'exact p95':>11}{'floor':>8}")
    for row in meaning:
        met = "met" if row["p95"] <= SEMANTIC_FLOOR_MS else "MISSED"
        print(
            f"{row['filter']:<30}{row['recall']:>8.3f}{row['p50']:>9.1f}{row['p95']:>9.1f}"
            f"{row['exact_p95']:>11.0f}{met:>8}"
        )
    print()
    print(
        f"search_cases at {args.cases:,} cases (misspelled words of random cases; without "
        f"indexes: first {args.baseline_queries} queries):"
    )
    print(
        f"{'queries':<26}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'found':>8}"
        f"{'no-index p50':>14}{'no-index p95':>14}{'speed-up p95':>14}"
    )
    for row in fuzzy:
        extra = ""
        if "no_index_p95" in row:
            extra = (
                f"{row['found']:>8.0%}{row['no_index_p50']:>14.0f}{row['no_index_p95']:>14.0f}"
                f"{row['no_index_p95'] / row['p95']:>13.0f}x"
            )
        print(f"{row['queries']:<26}{row['n']:>5}{row['p50']:>9.1f}{row['p95']:>9.1f}{extra}")
    print()
    print("plans of a one-word query:")
    print(plan)


if __name__ == "__main__":
    main()
