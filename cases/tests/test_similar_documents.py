"""Semantic search of documents: the exact nearest neighbours on a small set, by document, by
vector and by text; the firm filter keeps recall; and the query is served by the HNSW index."""

import math
import random

import pytest
from django.db import connection

from cases import selectors
from cases.embeddings import HashingEmbedder
from cases.models import EMBEDDING_DIMENSIONS, Document
from cases.services import embed_documents
from cases.tests.builders import make_case, make_document
from cases.tests.plans import plan_of


def unit(vector):
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector]


def cosine_distance(a, b):
    return 1 - sum(x * y for x, y in zip(a, b, strict=True))


def random_vectors(count, seed):
    rng = random.Random(seed)
    return [unit([rng.gauss(0, 1) for _ in range(EMBEDDING_DIMENSIONS)]) for _ in range(count)]


@pytest.fixture
def vector_documents(firm_a, firm_b, partner, partner_b):
    """40 documents with random embeddings, 30 in firm A and 10 in firm B."""
    cases = {firm_a: make_case(firm_a), firm_b: make_case(firm_b)}
    documents = []
    for i, vector in enumerate(random_vectors(40, seed=5)):
        firm = firm_a if i % 4 else firm_b
        author = partner if firm == firm_a else partner_b
        document = make_document(cases[firm], title=f"Document {i}", author=author)
        document.content_embedding = vector
        documents.append(document)
    Document.objects.bulk_update(documents, ["content_embedding"])
    return documents


def exact_nearest(documents, vector, k):
    ranked = sorted(documents, key=lambda d: cosine_distance(d.content_embedding, vector))
    return [d.pk for d in ranked[:k]]


def test_a_vector_query_returns_the_exact_nearest_neighbours_in_order(vector_documents):
    for query in random_vectors(5, seed=99):
        results = selectors.similar_documents(query, limit=5)
        assert [d.pk for d in results] == exact_nearest(vector_documents, query, 5)
        assert [d.distance for d in results] == sorted(d.distance for d in results)


def test_a_document_query_leaves_the_document_itself_out(vector_documents):
    source = vector_documents[7]
    others = [d for d in vector_documents if d.pk != source.pk]
    results = selectors.similar_documents(source, limit=3)
    assert [d.pk for d in results] == exact_nearest(others, source.content_embedding, 3)


@pytest.fixture(params=["exact", "index"])
def search_path(request, monkeypatch):
    """A firm's search compares all its documents (a small firm) or goes through the HNSW index
    (a larger one); which is chosen by comparing the planner's estimate of the firm's documents
    with the HNSW candidate list their share would need, priced by HNSW_CANDIDATE_COST."""
    cost = 10**9 if request.param == "exact" else 0
    monkeypatch.setattr(selectors, "HNSW_CANDIDATE_COST", cost)
    return request.param


def test_the_firm_filter_returns_that_firms_exact_nearest(
    vector_documents, firm_a, firm_b, search_path
):
    for firm in (firm_a, firm_b):
        theirs = [d for d in vector_documents if d.case.firm_id == firm.pk]
        for query in random_vectors(3, seed=7):
            results = selectors.similar_documents(query, firm=firm, limit=5)
            assert [d.pk for d in results] == exact_nearest(theirs, query, 5)
        source = theirs[0]  # a document query of the firm leaves the document out
        results = selectors.similar_documents(source, firm=firm, limit=3)
        others = [d for d in theirs if d.pk != source.pk]
        assert [d.pk for d in results] == exact_nearest(others, source.content_embedding, 3)


def test_results_do_not_load_the_embedding_column(vector_documents):
    result = selectors.similar_documents(random_vectors(1, seed=3)[0], limit=1)[0]
    assert "content_embedding" in result.get_deferred_fields()
    assert result.title.startswith("Document ")


def test_a_query_vector_of_the_wrong_size_is_refused(vector_documents):
    with pytest.raises(ValueError, match="needs 1536 dimensions; this one has 3"):
        selectors.similar_documents([0.1, 0.2, 0.3])


def test_a_text_query_finds_the_document_about_it(firm_a, partner):
    case = make_case(firm_a)
    texts = {
        "lease": ("Commercial lease agreement", "The tenant rents the warehouse for five years."),
        "nda": ("Non-disclosure agreement", "Confidential information shall not be disclosed."),
        "motion": ("Motion to dismiss", "The defendant moves the court to dismiss the claim."),
        "ro": ("Contract de vânzare-cumpărare", "Vânzătorul transmite dreptul de proprietate."),
    }
    documents = {
        key: make_document(case, title=title, content=content, author=partner)
        for key, (title, content) in texts.items()
    }
    embed_documents(embedder=HashingEmbedder())
    assert selectors.similar_documents("dismiss the claim", limit=1)[0].pk == (
        documents["motion"].pk
    )
    assert selectors.similar_documents("contract de vanzare", limit=1)[0].pk == (documents["ro"].pk)
    # A document not embedded yet is embedded on the fly to search with.
    fresh = make_document(case, title="Warehouse lease", content="tenant rents", author=partner)
    assert selectors.similar_documents(fresh, limit=1)[0].pk == documents["lease"].pk


def test_the_search_is_served_by_the_hnsw_index(vector_documents):
    """On a table this small the planner would rather sort every row; with that priced out, the
    plan is the HNSW index scan (bench/search.py: chosen by itself at 100,000 documents)."""
    query = random_vectors(1, seed=11)[0]
    plan = plan_of(lambda: selectors.similar_documents(query), disable=("seqscan", "bitmapscan"))
    assert "Index Scan using idx_documents_embedding_hnsw" in plan, plan


def test_a_firm_search_reads_the_path_it_chose(vector_documents, firm_b, search_path):
    """The index path is the HNSW scan filtered on documents.firm_id; the exact path reads the
    firm's documents through their firm_id index and never the HNSW index."""
    query = random_vectors(1, seed=11)[0]
    plan = plan_of(lambda: selectors.similar_documents(query, firm=firm_b), disable=("seqscan",))
    if search_path == "index":
        assert "Index Scan using idx_documents_embedding_hnsw" in plan, plan
        assert "Filter: ((content_embedding IS NOT NULL) AND (firm_id = " in plan, plan
    else:
        assert "idx_documents_embedding_hnsw" not in plan, plan
        assert "documents_firm_id" in plan, plan


def settings_now(names):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join("current_setting(%s, true)" for _ in names), list(names)
        )
        return dict(zip(names, cursor.fetchone(), strict=True))


def test_the_search_settings_end_with_the_search(vector_documents, firm_b, search_path):
    """Inside a caller's transaction (as in every test) the settings the search made for itself,
    enable_sort = off among them, are put back for the caller's next queries."""
    names = ("enable_sort", "hnsw.ef_search", "hnsw.iterative_scan", "hnsw.max_scan_tuples")
    selectors.similar_documents(random_vectors(1, seed=1)[0])  # pgvector's settings exist now
    before = settings_now(names)
    assert selectors.similar_documents(random_vectors(1, seed=2)[0], firm=firm_b)
    assert settings_now(names) == before
    assert before["enable_sort"] == "on"
