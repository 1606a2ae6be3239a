"""The registry key of a type name: one key per type, whatever its spelling."""

import pytest
from django.core.exceptions import ValidationError

from discovery.normalization import clean_spelling, fold_diacritics, normalize_type_name


@pytest.mark.parametrize(
    ("name", "language", "expected"),
    [
        ("Contract de Vânzare-Cumpărare", "ro", "contract_vanzare_cumparare"),
        ("CONTRACT  DE VANZARE – CUMPARARE", "ro", "contract_vanzare_cumparare"),
        ("contract vânzare/cumpărare.", "ro", "contract_vanzare_cumparare"),
        # comma-below (ș ț, correct) and cedilla (ş ţ, legacy encodings) fold alike
        ("Somație de plată", "ro", "somatie_plata"),
        ("Somaţie de plată", "ro", "somatie_plata"),
        ("Înștiințare", "ro", "instiintare"),
        ("Înştiinţare", "ro", "instiintare"),
        ("ÎNȘTIINȚARE", "ro", "instiintare"),
        # decomposed input (a + combining breve) is the same as precomposed ă
        ("Cerere de chemare în judecata\u0306", "ro", "cerere_chemare_judecata"),
        ("Cerere  de\tchemare\u00a0în   judecată", "ro", "cerere_chemare_judecata"),
        ("Răspuns la notificare", "ro", "raspuns_notificare"),
        ("Contract nr. 12/2024", "ro", "contract_nr_12_2024"),
        ("Notice of Default", "en", "notice_default"),
        # stop words are per language: "de" is not an English one
        ("De Minimis Letter", "en", "de_minimis_letter"),
        ("Acord de Confidențialitate (NDA)", "mixed", "acord_confidentialitate_nda"),
        # a name made only of stop words keeps them rather than vanish
        ("De la", "ro", "de_la"),
        ("Contract_de_închiriere", "ro", "contract_inchiriere"),
    ],
)
def test_normalize_type_name(name, language, expected):
    assert normalize_type_name(name, language) == expected


def test_fold_diacritics_covers_romanian_letters():
    assert fold_diacritics("ă â î ș ş ț ţ") == "a a i s s t t"


def test_long_names_are_cut_at_a_word_boundary():
    name = " ".join(["contract"] * 50)  # 449 characters, normalized too
    normalized = normalize_type_name(name, "ro")
    assert len(normalized) <= 255
    assert normalized.endswith("contract")
    assert not normalized.endswith("_")


def test_clean_spelling_keeps_case_and_accents_and_collapses_spacing():
    assert clean_spelling("  Contract de\n Vânzare-Cumpărare ") == "Contract de Vânzare-Cumpărare"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("   ", "must not be empty"),
        ("— / ()", "has no letters or digits"),
        ("x" * 501, "at most 500 characters"),
        (None, "must be text"),
    ],
)
def test_unusable_names_are_refused_with_a_reason(name, message):
    with pytest.raises(ValidationError, match=message):
        normalize_type_name(name, "ro")


def test_unknown_language_is_refused():
    with pytest.raises(ValidationError, match="unknown language 'de'"):
        normalize_type_name("Vertrag", "de")
