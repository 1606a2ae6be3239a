"""Turning document text into 1536-dimensional vectors for semantic search: a small embedder
interface chosen by `settings.EMBEDDER`, a deterministic local embedder that works offline, and
an HTTP embedder for an OpenAI-compatible endpoint."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import time
import unicodedata
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from cases.models import EMBEDDING_DIMENSIONS


class EmbeddingError(RuntimeError):
    """The embedder could not turn texts into vectors; the message says why in one line."""


class Embedder(Protocol):
    """What `cases` needs of an embedder. `name` is stored with every embedding
    (`documents.embedding_model`): a different name makes existing embeddings stale."""

    name: str
    dimensions: int

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One L2-normalized vector of `dimensions` floats per text, in order."""
        ...


def get_embedder() -> Embedder:
    """The embedder `settings.EMBEDDER` names (a dotted path to a class taking no arguments)."""
    try:
        embedder_class = import_string(settings.EMBEDDER)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"EMBEDDER={settings.EMBEDDER!r} cannot be imported: {exc}"
        ) from None
    return embedder_class()


# --- Local: feature hashing of word n-grams ---------------------------------------------------

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Lower-case words without diacritics, so "Vânzare" and "vanzare" are the same word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WORD.findall(plain)


class HashingEmbedder:
    """Feature hashing of word unigrams and bigrams into 1536 signed buckets, with sublinear term
    frequency, L2-normalized: texts sharing words and phrases get close vectors. Deterministic
    across processes and machines (blake2b, not Python's salted hash()); needs no network."""

    name = "hashing-ngrams-v1"
    dimensions = EMBEDDING_DIMENSIONS

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self.embed_one(text) for text in texts]

    def embed_one(self, text: str) -> list[float]:
        tokens = words(text)
        features = Counter(tokens)
        features.update(f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False))
        if not features:
            features[""] = 1  # a text without words still gets a unit vector, the same for all
        vector = [0.0] * self.dimensions
        for feature, count in features.items():
            bucket, sign = _bucket(feature, self.dimensions)
            vector[bucket] += sign * (1.0 + math.log(count))
        norm = math.sqrt(math.fsum(x * x for x in vector))
        if norm == 0.0:  # every feature cancelled out in its bucket: fall back to the empty text
            return self.embed_one("")
        return [x / norm for x in vector]


@functools.lru_cache(maxsize=1 << 16)
def _bucket(feature: str, dimensions: int) -> tuple[int, float]:
    value = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
    return value % dimensions, (1.0 if value >> 63 else -1.0)


# --- HTTP: an OpenAI-compatible /embeddings endpoint -------------------------------------------

RETRYABLE_STATUS = {429, 500, 502, 503, 504}
MAX_RETRY_DELAY = 30.0  # seconds, whatever Retry-After asks for


class OpenAIEmbedder:
    """POSTs texts to `{EMBEDDING_API_URL}/embeddings` (OpenAI's API or a compatible server) with
    the key from `EMBEDDING_API_KEY`; retries rate limits and server errors with back-off."""

    dimensions = EMBEDDING_DIMENSIONS

    def __init__(
        self,
        *,
        url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        timeout: float | None = None,
        retries: int = 3,
        backoff: float = 1.0,
    ):
        url = url if url is not None else settings.EMBEDDING_API_URL
        api_key = api_key if api_key is not None else settings.EMBEDDING_API_KEY
        if not url or not api_key:
            raise ImproperlyConfigured(
                "the HTTP embedder needs EMBEDDING_API_URL and EMBEDDING_API_KEY; set both, or "
                "unset EMBEDDER to use the local hashing embedder"
            )
        if not url.startswith(("http://", "https://")):
            raise ImproperlyConfigured(
                f"EMBEDDING_API_URL must start with http:// or https://; got {url!r}"
            )
        url = url.rstrip("/")
        self.endpoint = url if url.endswith("/embeddings") else f"{url}/embeddings"
        self._api_key = api_key
        self.model = model or settings.EMBEDDING_MODEL
        self.timeout = timeout if timeout is not None else settings.EMBEDDING_API_TIMEOUT
        self.retries = retries
        self.backoff = backoff
        self.name = f"openai:{self.model}"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        body = {
            "model": self.model,
            "input": list(texts),
            "dimensions": self.dimensions,
            "encoding_format": "float",
        }
        payload = self._post(json.dumps(body).encode())
        try:
            rows = sorted(payload["data"], key=lambda row: row["index"])
            vectors = [[float(x) for x in row["embedding"]] for row in rows]
        except (KeyError, TypeError, ValueError):
            raise EmbeddingError(
                f"the embedding API at {self.endpoint} answered without data[].embedding"
            ) from None
        if len(vectors) != len(texts):
            raise EmbeddingError(
                f"the embedding API at {self.endpoint} returned {len(vectors)} vectors "
                f"for {len(texts)} texts"
            )
        for vector in vectors:
            if len(vector) != self.dimensions:
                raise EmbeddingError(
                    f"model {self.model} returned {len(vector)}-dimensional vectors; "
                    f"documents.content_embedding holds {self.dimensions} "
                    "(choose a model such as text-embedding-3-small)"
                )
        return vectors

    def _post(self, data: bytes) -> dict:
        request = urllib.request.Request(
            self.endpoint,
            data=data,
            method="POST",
            headers={
                "Authorization": f"Bearer {self._api_key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": "legalplatform-embedder",
            },
        )
        attempt = 0
        while True:
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.load(response)
            except urllib.error.HTTPError as exc:
                if exc.code not in RETRYABLE_STATUS or attempt >= self.retries:
                    message = _error_message(exc).replace(self._api_key, "***")
                    raise EmbeddingError(
                        f"the embedding API at {self.endpoint} answered {exc.code} "
                        f"{exc.reason}: {message}"
                    ) from None
                delay = _retry_after(exc) or self.backoff * 2**attempt
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt >= self.retries:
                    reason = getattr(exc, "reason", exc)
                    raise EmbeddingError(
                        f"cannot reach the embedding API at {self.endpoint}: {reason}"
                    ) from None
                delay = self.backoff * 2**attempt
            except json.JSONDecodeError:
                raise EmbeddingError(
                    f"the embedding API at {self.endpoint} answered with something other than JSON"
                ) from None
            time.sleep(min(delay, MAX_RETRY_DELAY))
            attempt += 1


def _error_message(exc: urllib.error.HTTPError) -> str:
    """The API's own error message (OpenAI: {"error": {"message": …}}), shortened."""
    try:
        body = json.loads(exc.read() or b"{}")
        message = body.get("error", {}).get("message") or ""
    except (ValueError, AttributeError):
        message = ""
    return (message or "no details").splitlines()[0][:200]


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    try:
        return float(exc.headers.get("Retry-After", ""))
    except (TypeError, ValueError):
        return None
