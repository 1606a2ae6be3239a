"""Embeddings: the local hashing embedder is deterministic across processes and puts related
texts close; the HTTP embedder talks to an OpenAI-compatible endpoint (a server started here,
never the internet) and turns its failures into one readable line; embed_documents fills
missing and stale embeddings in batches and leaves fresh ones alone."""

import json
import math
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from cases.embeddings import EmbeddingError, HashingEmbedder, OpenAIEmbedder, get_embedder, words
from cases.models import Document
from cases.services import embed_documents
from cases.tests.builders import make_case, make_document
from tests.support.processes import ROOT

# --- Hashing embedder ----------------------------------------------------------------------------


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_vectors_are_unit_length_with_1536_dimensions():
    for text in ["Contract Dispute - ABC Corp vs XYZ Ltd", "", "!!!", "a a a a"]:
        vector = HashingEmbedder().embed_one(text)
        assert len(vector) == 1536
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-9)


def test_related_texts_are_closer_than_unrelated_ones():
    embed = HashingEmbedder().embed_one
    lease = embed("The tenant shall pay the monthly rent for the leased warehouse.")
    lease_again = embed("Monthly rent for the warehouse is paid by the tenant.")
    motion = embed("Defendant moves to dismiss the complaint for lack of jurisdiction.")
    assert cosine(lease, lease_again) > 0.3 > cosine(lease, motion)


def test_words_ignore_case_and_romanian_diacritics():
    assert words("Contract de VÂNZARE-cumpărare, ședința țării") == [
        "contract",
        "de",
        "vanzare",
        "cumparare",
        "sedinta",
        "tarii",
    ]


def test_the_embedding_is_the_same_in_another_process():
    """No salted hash(): a vector stored by one process is found by another."""
    text = "Cererea de chemare în judecată - Popescu vs Ionescu"
    code = (
        "import json, django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
        "'legalplatform.settings'); django.setup(); "
        "from cases.embeddings import HashingEmbedder; "
        f"print(json.dumps(HashingEmbedder().embed_one({text!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"},
    )
    assert json.loads(result.stdout) == HashingEmbedder().embed_one(text)


def test_get_embedder_follows_the_setting(settings):
    assert get_embedder().name == "hashing-ngrams-v1"
    settings.EMBEDDER = "cases.embeddings.NoSuchEmbedder"
    with pytest.raises(ImproperlyConfigured, match="EMBEDDER='cases.embeddings.NoSuchEmbedder'"):
        get_embedder()


# --- HTTP embedder against a local OpenAI-compatible server ---------------------------------------


class FakeEmbeddingsAPI(BaseHTTPRequestHandler):
    """Answers POST /v1/embeddings like OpenAI: one vector per input, rows in reverse order
    (clients must sort by index). `script` lists the status codes to answer first."""

    script: list[int] = []
    requests: list[dict] = []
    dimensions = 1536

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "auth": self.headers["Authorization"], "body": body}
        )
        status = type(self).script.pop(0) if type(self).script else 200
        if status != 200:
            payload = {"error": {"message": f"failure {status} for key sk-test-secret"}}
        else:
            rows = [
                {"index": i, "embedding": self.vector(text)} for i, text in enumerate(body["input"])
            ]
            payload = {"object": "list", "data": rows[::-1], "model": body["model"]}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def vector(self, text):
        vector = [0.0] * self.dimensions
        vector[len(text) % self.dimensions] = 1.0
        return vector

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    FakeEmbeddingsAPI.script = []
    FakeEmbeddingsAPI.requests = []
    FakeEmbeddingsAPI.dimensions = 1536
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeEmbeddingsAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def http_embedder(url, **kwargs):
    return OpenAIEmbedder(url=url, api_key="sk-test-secret", backoff=0.01, **kwargs)


def test_the_http_embedder_posts_the_texts_and_returns_vectors_in_order(api):
    vectors = http_embedder(api, model="text-embedding-3-small").embed(["a", "bbb", "cc"])
    assert [vector.index(1.0) for vector in vectors] == [1, 3, 2]
    (request,) = FakeEmbeddingsAPI.requests
    assert request["path"] == "/v1/embeddings"
    assert request["auth"] == "Bearer sk-test-secret"
    assert request["body"] == {
        "model": "text-embedding-3-small",
        "input": ["a", "bbb", "cc"],
        "dimensions": 1536,
        "encoding_format": "float",
    }


def test_the_http_embedder_retries_rate_limits_and_server_errors(api):
    FakeEmbeddingsAPI.script = [429, 503]
    assert len(http_embedder(api).embed(["text"])) == 1
    assert len(FakeEmbeddingsAPI.requests) == 3


def test_a_refused_request_is_one_line_without_the_key(api):
    FakeEmbeddingsAPI.script = [401]
    with pytest.raises(EmbeddingError) as error:
        http_embedder(api).embed(["text"])
    message = str(error.value)
    assert message == (
        f"the embedding API at {api}/embeddings answered 401 Unauthorized: failure 401 for key ***"
    )
    assert len(FakeEmbeddingsAPI.requests) == 1  # not retried


def test_persistent_server_errors_give_up_after_the_retries(api):
    FakeEmbeddingsAPI.script = [500, 500, 500]
    with pytest.raises(EmbeddingError, match="answered 500"):
        http_embedder(api, retries=2).embed(["text"])
    assert len(FakeEmbeddingsAPI.requests) == 3


def test_vectors_of_the_wrong_size_are_refused(api):
    FakeEmbeddingsAPI.dimensions = 768
    with pytest.raises(EmbeddingError, match="returned 768-dimensional vectors"):
        http_embedder(api).embed(["text"])


def test_an_unreachable_endpoint_is_named(api):
    embedder = http_embedder("http://127.0.0.1:9/v1", retries=0, timeout=2)
    with pytest.raises(EmbeddingError, match="cannot reach the embedding API at http://127.0.0"):
        embedder.embed(["text"])


def test_the_http_embedder_needs_its_url_and_key(settings):
    settings.EMBEDDING_API_URL = "https://api.example.com/v1"
    settings.EMBEDDING_API_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="needs EMBEDDING_API_URL and EMBEDDING_API_KEY"):
        OpenAIEmbedder()
    with pytest.raises(ImproperlyConfigured, match="must start with http"):
        OpenAIEmbedder(url="ftp://x", api_key="k")


@pytest.mark.django_db
def test_embed_documents_through_the_http_embedder(api, firm_a, partner, settings):
    settings.EMBEDDING_API_URL = api
    settings.EMBEDDING_API_KEY = "sk-test-secret"
    settings.EMBEDDER = "cases.embeddings.OpenAIEmbedder"
    make_document(make_case(firm_a), title="Brief", content="x", author=partner)
    run = embed_documents()
    assert (run.embedder, run.embedded, run.remaining) == ("openai:text-embedding-3-small", 1, 0)
    assert Document.objects.get().embedding_model == "openai:text-embedding-3-small"


# --- embed_documents -----------------------------------------------------------------------------


class RecordingEmbedder(HashingEmbedder):
    """The hashing embedder, remembering the batches it was given."""

    def __init__(self, name="hashing-ngrams-v1"):
        self.name = name
        self.batches = []

    def embed(self, texts):
        self.batches.append(list(texts))
        return super().embed(texts)


@pytest.fixture
def documents(firm_a, partner):
    case = make_case(firm_a)
    return [
        make_document(case, title=f"Document {i}", content=f"text {i}", author=partner)
        for i in range(5)
    ]


def test_missing_embeddings_are_filled_in_batches(documents):
    embedder = RecordingEmbedder()
    run = embed_documents(embedder=embedder, batch_size=2)
    assert (run.embedded, run.remaining) == (5, 0)
    assert [len(batch) for batch in embedder.batches] == [2, 2, 1]
    for document in Document.objects.all():
        assert document.content_embedding is not None
        assert document.embedding_source_hash == document.content_hash
        assert document.embedding_model == "hashing-ngrams-v1"
        expected = HashingEmbedder().embed_one(document.embedding_text)
        assert list(document.content_embedding) == pytest.approx(expected, abs=1e-6)


def test_only_stale_embeddings_are_redone(documents):
    embed_documents(embedder=RecordingEmbedder())
    edited = documents[3]
    edited.content = "new content"
    edited.save()
    embedder = RecordingEmbedder()
    assert embed_documents(embedder=embedder).embedded == 1
    assert embedder.batches == [[edited.embedding_text]]
    assert embed_documents(embedder=RecordingEmbedder()).embedded == 0


def test_another_embedder_makes_every_embedding_stale(documents):
    embed_documents(embedder=RecordingEmbedder())
    run = embed_documents(embedder=RecordingEmbedder(name="hashing-ngrams-v2"))
    assert run.embedded == 5
    assert set(Document.objects.values_list("embedding_model", flat=True)) == {"hashing-ngrams-v2"}


def test_a_failing_embedder_keeps_the_finished_batches(documents):
    class FailingSecondBatch(RecordingEmbedder):
        def embed(self, texts):
            if self.batches:
                raise EmbeddingError("the embedding API at http://x answered 500")
            return super().embed(texts)

    with pytest.raises(EmbeddingError):
        embed_documents(embedder=FailingSecondBatch(), batch_size=2)
    assert Document.objects.filter(content_embedding__isnull=False).count() == 2
    assert embed_documents(embedder=RecordingEmbedder()).embedded == 3


# --- the command ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_command_embeds_and_reports(manage, documents):
    result = manage("embed_documents", "--batch-size", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "embedded 5 documents with hashing-ngrams-v1; 0 still missing or stale\n"
    )
    assert result.stderr == ""  # no progress bar when piped
    assert not Document.objects.filter(content_embedding__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_the_command_refuses_a_bad_embedder_in_one_line(manage, documents):
    env = {"EMBEDDER": "cases.embeddings.OpenAIEmbedder", "EMBEDDING_API_URL": ""}
    result = manage("embed_documents", env=env)
    assert result.returncode == 1
    assert result.stderr == (
        "CommandError: the HTTP embedder needs EMBEDDING_API_URL and EMBEDDING_API_KEY; set "
        "both, or unset EMBEDDER to use the local hashing embedder\n"
    )
    assert not Document.objects.filter(content_embedding__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_the_command_reports_a_refusing_api_in_one_line(manage, documents, api):
    FakeEmbeddingsAPI.script = [401]
    env = {"EMBEDDING_API_URL": api, "EMBEDDING_API_KEY": "sk-test-secret"}
    result = manage("embed_documents", env=env)
    assert result.returncode == 1
    assert result.stderr == (
        f"CommandError: the embedding API at {api}/embeddings answered 401 Unauthorized: "
        "failure 401 for key ***\n"
    )
    assert "sk-test-secret" not in result.stdout + result.stderr
