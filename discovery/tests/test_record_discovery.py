"""record_discovery: one upsert per sighting, exact running totals, safe under concurrency."""

import subprocess
import sys
import time
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from discovery.models import DocumentTypeInstance, DocumentTypeRegistry, DocumentTypeVariation
from discovery.selectors import spellings_of
from discovery.services import record_discovery
from tests.support.processes import ROOT, subprocess_env

pytestmark = pytest.mark.django_db


def test_first_sighting_creates_the_type_with_its_spelling():
    document = uuid.uuid4()
    registry = record_discovery(
        "  Contract de  Vânzare-Cumpărare ",
        language="ro",
        category="contract",
        document_id=document,
        length=4000,
        confidence=0.87,
    )
    assert registry.discovered_type_original == "Contract de Vânzare-Cumpărare"
    assert registry.discovered_type_normalized == "contract_vanzare_cumparare"
    assert registry.primary_language == "ro"
    assert registry.document_category == "contract"
    assert (registry.total_occurrences, registry.unique_variations) == (1, 1)
    assert registry.avg_document_length == 4000
    assert registry.sample_document_ids == [document]
    assert registry.mapping_status == "pending"
    assert registry.first_seen_date == registry.last_seen_date
    instance = DocumentTypeInstance.objects.get()
    assert (instance.document_id, instance.registry_id) == (document, registry.pk)
    assert instance.confidence_score == Decimal("0.87")
    assert [s.variation for s in spellings_of(registry)] == ["Contract de Vânzare-Cumpărare"]


def test_later_sightings_update_the_running_totals():
    first = record_discovery("Contract de Închiriere", language="ro", length=1000)
    documents = [uuid.uuid4() for _ in range(7)]
    for index, document in enumerate(documents):
        registry = record_discovery(
            ["CONTRACT DE INCHIRIERE", "contract de închiriere", "Contract de Închiriere"][
                index % 3
            ],
            language="ro",
            category="contract",
            document_id=document,
            length=None if index == 6 else 2000 + index,
        )
    assert registry.pk == first.pk
    assert registry.discovered_type_original == "Contract de Închiriere"  # the first spelling
    assert registry.total_occurrences == 8
    assert registry.unique_variations == 3
    # lengths 1000, 2000..2005 (the 7th sighting had none): sum 13015 over 7
    assert (registry.document_length_sum, registry.document_length_count) == (13015, 7)
    assert registry.avg_document_length == round(13015 / 7)
    assert registry.sample_document_ids == documents[:5]  # the first five documents stay
    assert registry.document_category == "contract"  # filled in when first given
    assert registry.last_seen_date > first.last_seen_date
    assert registry.first_seen_date == first.first_seen_date
    assert DocumentTypeInstance.objects.filter(registry=registry).count() == 7
    assert DocumentTypeRegistry.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_each_sighting_moves_updated_at():
    """update_registry_updated_at: now() is the transaction's time, hence autocommit here."""
    first = record_discovery("Notificare de reziliere", language="ro")
    second = record_discovery("Notificare de reziliere", language="ro")
    assert second.updated_at > first.updated_at
    assert second.created_at == first.created_at


def test_a_document_seen_again_is_not_a_second_sample():
    document = uuid.uuid4()
    record_discovery("Somație de plată", language="ro", document_id=document)
    registry = record_discovery("Somație de plată", language="ro", document_id=document)
    assert registry.sample_document_ids == [document]
    assert registry.total_occurrences == 2


def test_a_known_category_is_kept():
    record_discovery("Întâmpinare", language="ro", category="filing")
    registry = record_discovery("Întâmpinare", language="ro", category="correspondence")
    assert registry.document_category == "filing"


def test_the_same_name_in_another_language_is_another_type():
    ro = record_discovery("Memorandum", language="ro")
    en = record_discovery("Memorandum", language="en")
    assert ro.pk != en.pk
    assert DocumentTypeVariation.objects.count() == 2


def test_a_type_created_elsewhere_counts_its_original_as_a_spelling():
    """Admin, demo data or COPY create rows without record_discovery: the registry trigger
    records their original name, so the same spelling seen later is not a new variation."""
    DocumentTypeRegistry.objects.create(
        discovered_type_original="Adresă către instanță",
        discovered_type_normalized="adresa_instanta",
        primary_language="ro",
    )
    registry = record_discovery("Adresă către instanță", language="ro")
    assert (registry.total_occurrences, registry.unique_variations) == (2, 1)
    registry = record_discovery("ADRESA CATRE INSTANTA", language="ro")
    assert registry.unique_variations == 2


def test_deleting_a_type_deletes_its_spellings_and_instances():
    registry = record_discovery("Proces-verbal", language="ro", document_id=uuid.uuid4())
    registry.delete()
    assert not DocumentTypeVariation.objects.exists()
    assert not DocumentTypeInstance.objects.exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"language": "fr"}, "unknown language 'fr'"),
        ({"language": "ro", "document_id": "not-a-uuid"}, "document_id must be a UUID"),
        ({"language": "ro", "length": -1}, "length must be a whole number"),
        ({"language": "ro", "length": 12.5}, "length must be a whole number"),
        ({"language": "ro", "document_id": uuid.uuid4(), "confidence": 1.5}, "between 0 and 1"),
        ({"language": "ro", "document_id": uuid.uuid4(), "confidence": "high"}, "a number"),
        ({"language": "ro", "confidence": 0.5}, "give its document_id"),
        ({"language": "ro", "category": "c" * 101}, "at most 100 characters"),
    ],
)
def test_bad_arguments_are_refused_and_nothing_is_written(arguments, message):
    with pytest.raises(ValidationError, match=message):
        record_discovery("Contract de vânzare", **arguments)
    assert not DocumentTypeRegistry.objects.exists()
    assert not DocumentTypeVariation.objects.exists()


# A child process: waits for the start signal, then records the same type CALLS times, cycling
# through three spellings, with a new document and a length each time.
CHILD = """
import os, sys, time, uuid
import django
django.setup()
from discovery.services import record_discovery

ready, go, calls, offset = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
spellings = ["Contract de Vânzare-Cumpărare", "CONTRACT DE VANZARE - CUMPARARE",
             "contract de vânzare cumpărare"]
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.005)
for i in range(calls):
    record_discovery(spellings[(offset + i) % 3], language="ro", category="contract",
                     document_id=uuid.uuid4(), length=1000 + i)
"""
PROCESSES = 4
CALLS = 40


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_sightings_of_one_type_from_four_processes_lose_nothing(tmp_path):
    env = subprocess_env(DJANGO_SETTINGS_MODULE="legalplatform.settings")
    go = tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tmp_path / f"ready{n}"), str(go), str(CALLS), str(n)],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    deadline = time.monotonic() + 60
    while sum((tmp_path / f"ready{n}").exists() for n in range(PROCESSES)) < PROCESSES:
        assert time.monotonic() < deadline, "child processes did not start"
        assert all(child.poll() is None for child in children), children[0].stderr.read()
        time.sleep(0.01)
    go.touch()  # all four start their first call (a brand-new type) together
    for child in children:
        _, errors = child.communicate(timeout=120)
        assert child.returncode == 0, errors

    registry = DocumentTypeRegistry.objects.get()
    assert registry.discovered_type_normalized == "contract_vanzare_cumparare"
    assert registry.total_occurrences == PROCESSES * CALLS
    assert registry.unique_variations == 3
    assert DocumentTypeVariation.objects.count() == 3
    assert registry.document_length_count == PROCESSES * CALLS
    assert registry.document_length_sum == PROCESSES * sum(1000 + i for i in range(CALLS))
    assert len(registry.sample_document_ids) == 5
    assert DocumentTypeInstance.objects.filter(registry=registry).count() == PROCESSES * CALLS
