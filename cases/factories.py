"""factory-boy factories of the practice data, speaking Romanian through Faker's ro_RO locale and a
provider of legal vocabulary (fixtures/synthetic/ro_RO.json). Tests build rows with them, and
`seed --scale` draws its pools of people, companies, addresses and titles from the same provider."""

from __future__ import annotations

import datetime
import functools
import json
import unicodedata
import uuid

import factory
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from faker import Faker
from faker.providers import BaseProvider

from cases.models import (
    Case,
    CaseStatus,
    CaseType,
    Client,
    Document,
    DocumentStatus,
    DocumentType,
    Firm,
    Priority,
    Task,
    TaskStatus,
    TaskType,
    User,
    UserRole,
    UserStatus,
)

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


class RomanianLegalProvider(BaseProvider):
    """Faker provider of Romanian legal vocabulary: law firms, matters, courts, titles, text."""

    def law_firm_name(self) -> str:
        template = self.random_element(romanian_vocabulary()["law_firm_names"])
        return template.format(
            first=self.generator.first_name(),
            last=self.generator.last_name(),
            last2=self.generator.last_name(),
        )

    def case_matter(self, case_type: str | None = None) -> str:
        matters = romanian_vocabulary()["cases"]["matters"]
        return self.random_element(matters[case_type or self.random_element(list(matters))])

    def case_title(self, case_type: str | None = None) -> str:
        return f"{self.case_matter(case_type)} - {self.generator.company()}"

    def court_name(self) -> str:
        return self.random_element(romanian_vocabulary()["cases"]["courts"])

    def document_kind(self, document_type: str | None = None) -> str:
        kinds = romanian_vocabulary()["documents"]["kinds"]
        return self.random_element(kinds[document_type or self.random_element(list(kinds))])

    def task_kind(self, task_type: str | None = None) -> str:
        kinds = romanian_vocabulary()["tasks"]["kinds"]
        return self.random_element(kinds[task_type or self.random_element(list(kinds))])

    def legal_text(self, sentences: int = 3) -> str:
        pool = romanian_vocabulary()["documents"]["sentences"]
        return " ".join(self.random_elements(pool, length=sentences, unique=True))


factory.Faker.add_provider(RomanianLegalProvider, locale=LOCALE)


def romanian_faker(seed: int | None = None) -> Faker:
    """A Faker of its own (not factory-boy's shared one), ro_RO with the legal provider."""
    fake = Faker(LOCALE)
    fake.add_provider(RomanianLegalProvider)
    if seed is not None:
        fake.seed_instance(seed)
    return fake


def ro(provider: str, **kwargs) -> factory.Faker:
    return factory.Faker(provider, locale=LOCALE, **kwargs)


def choice(choices) -> factory.Faker:
    return ro("random_element", elements=list(choices.values))


def storage_url(firm_key: str, case_number: str, file_name: str) -> str:
    """Where a document's file lives in the object store."""
    return f"r2://legal-docs/{firm_key}/{case_number}/{file_name}"


class FirmFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Firm
        django_get_or_create = ("vat_id",)

    name = ro("law_firm_name")
    address = ro("address")
    vat_id = ro("numerify", text="RO########")
    email = factory.LazyAttribute(lambda o: f"office@{ascii_slug(o.name)}.ro")
    phone = ro("phone_number")
    website = factory.LazyAttribute(lambda o: f"https://{ascii_slug(o.name)}.ro")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    firm = factory.SubFactory(FirmFactory)
    first_name = ro("first_name")
    last_name = ro("last_name")
    email = factory.LazyAttributeSequence(
        lambda o, n: (
            f"{ascii_slug(o.first_name, '.')}.{ascii_slug(o.last_name, '.')}.{n}"
            f"@{ascii_slug(o.firm.name) if o.firm else 'example'}.ro"
        )
    )
    role = UserRole.ASSOCIATE
    status = UserStatus.ACTIVE
    azure_ad_id = factory.LazyFunction(lambda: f"aad-{uuid.uuid4()}")
    preferences = factory.LazyFunction(lambda: {"language": "ro", "aiSuggestionLevel": "medium"})
    # An unusable password costs nothing to make; tests that log in set one.
    password = factory.LazyFunction(lambda: make_password(None))


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    firm = factory.SubFactory(FirmFactory)
    name = ro("company")
    address = ro("address")
    contact_info = factory.LazyAttribute(
        lambda o: {"email": f"office@{ascii_slug(o.name)}.ro", "phone": "+40-21-555-0100"}
    )


def _closed_date(case) -> datetime.date | None:
    if case.status not in (CaseStatus.CLOSED, CaseStatus.ARCHIVED):
        return None
    return min(case.opened_date + datetime.timedelta(days=180), timezone.localdate())


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    firm = factory.SubFactory(FirmFactory)
    case_number = factory.Sequence(lambda n: f"CASE-2025-{n + 1:04d}")
    case_type = choice(CaseType)
    title = ro("case_title", case_type=factory.SelfAttribute("..case_type"))
    status = CaseStatus.ACTIVE
    priority = choice(Priority)
    client = factory.SubFactory(ClientFactory, firm=factory.SelfAttribute("..firm"))
    assigned_partner = factory.SubFactory(
        UserFactory, firm=factory.SelfAttribute("..firm"), role=UserRole.PARTNER
    )
    assigned_associate = None
    description = ro("legal_text")
    opened_date = ro("date_between", start_date="-3y", end_date="-30d")
    closed_date = factory.LazyAttribute(_closed_date)
    court_name = ro("court_name")
    judge_name = ro("name")


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Document

    case = factory.SubFactory(CaseFactory)
    created_by_user = factory.SubFactory(UserFactory, firm=factory.SelfAttribute("..case.firm"))

    class Params:
        kind = ro("document_kind", document_type=factory.SelfAttribute("..document_type"))

    document_type = choice(DocumentType)
    title = factory.LazyAttribute(lambda o: f"{o.kind} - {o.case.client.name}")
    content = ro("legal_text")
    status = DocumentStatus.DRAFT
    file_name = factory.LazyAttributeSequence(lambda o, n: f"{ascii_slug(o.title)[:80]}-{n}.pdf")
    file_size_bytes = ro("random_int", min=10_000, max=5_000_000)
    mime_type = "application/pdf"
    storage_url = factory.LazyAttribute(
        lambda o: storage_url(o.case.firm.vat_id, o.case.case_number, o.file_name)
    )


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    case = factory.SubFactory(CaseFactory)
    task_type = choice(TaskType)
    title = ro("task_kind", task_type=factory.SelfAttribute("..task_type"))
    status = TaskStatus.PENDING
    priority = choice(Priority)
    assigned_to_user = factory.SubFactory(UserFactory, firm=factory.SelfAttribute("..case.firm"))
    created_by_user = factory.SelfAttribute("assigned_to_user")
    due_date = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=14))
    estimated_hours = 4
