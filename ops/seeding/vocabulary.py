"""Romanian legal vocabulary of the synthetic data (fixtures/synthetic/ro_RO.json), a Faker
provider speaking it, and the naming rules seeded rows follow (e-mail slugs, storage URLs). Its
own module so that seeding depends on nothing of the test suite."""

from __future__ import annotations

import functools
import json
import unicodedata

from django.conf import settings
from faker import Faker
from faker.providers import BaseProvider

LOCALE = "ro_RO"
VOCABULARY_FILE = settings.BASE_DIR / "fixtures" / "synthetic" / "ro_RO.json"


@functools.cache
def romanian_vocabulary() -> dict:
    """Phrases and distributions of synthetic Romanian legal data (read once)."""
    return json.loads(VOCABULARY_FILE.read_text(encoding="utf-8"))


def ascii_slug(text: str, separator: str = "-") -> str:
    """`Contestație la decizie` -> `contestatie-la-decizie`: for e-mail addresses and file names."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = "".join(ch if ch.isalnum() else " " for ch in folded.lower()).split()
    return separator.join(words)


def storage_url(firm_key: str, case_number: str, file_name: str) -> str:
    """Where a document's file lives in the object store."""
    return f"r2://legal-docs/{firm_key}/{case_number}/{file_name}"


class RomanianLegalProvider(BaseProvider):
    """Faker provider of Romanian legal text, drawn from the vocabulary's sentences."""

    def legal_text(self, sentences: int = 3) -> str:
        pool = romanian_vocabulary()["documents"]["sentences"]
        return " ".join(self.random_elements(pool, length=sentences, unique=True))


def romanian_faker(seed: int | None = None) -> Faker:
    """A Faker of its own, ro_RO with the legal provider, seeded when `seed` is given."""
    fake = Faker(LOCALE)
    fake.add_provider(RomanianLegalProvider)
    if seed is not None:
        fake.seed_instance(seed)
    return fake
