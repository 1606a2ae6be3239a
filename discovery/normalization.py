"""How a document-type name found in an import becomes the registry's key: one normalized form
per type, whatever the case, diacritics (comma or cedilla), punctuation or spacing of the
spelling, so that "Contract de Vânzare-Cumpărare" and "CONTRACT VANZARE - CUMPARARE" are one type.
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError

NORMALIZED_MAX_LENGTH = 255  # document_type_registry.discovered_type_normalized
ORIGINAL_MAX_LENGTH = 500  # document_type_registry.discovered_type_original

# Function words that carry no meaning in a type's name ("Cerere de chemare în judecată" and
# "Cerere chemare judecata" are one type). Compared after folding, so "și" is "si", "în" is "in".
STOP_WORDS = {
    "ro": frozenset(
        "a ai al ale asupra catre cu de din in intre la pe pentru prin privind sau si spre "
        "unei unui".split()
    ),
    "en": frozenset("a an and by for in of on or the to with".split()),
}
STOP_WORDS["mixed"] = STOP_WORDS["ro"] | STOP_WORDS["en"]

# Lower-case letters that Unicode does not decompose into a base letter and a combining mark.
_UNDECOMPOSABLE = str.maketrans({"æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l"})
_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script; everything else separates


def fold_diacritics(text: str) -> str:
    """Lower-case `text` without accents: ă â î → a a i, and both ș (comma below) and ş (cedilla)
    → s, both ț and ţ → t (NFKD splits each into a base letter and a combining mark, dropped)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSABLE))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def clean_spelling(name: str) -> str:
    """The name as found, for display and as a spelling: composed Unicode (NFC), spacing
    collapsed and trimmed; case, accents and punctuation kept."""
    if not isinstance(name, str):
        raise ValidationError(f"a document type name must be text; got {type(name).__name__}")
    spelling = " ".join(unicodedata.normalize("NFC", name).split())
    if not spelling:
        raise ValidationError("a document type name must not be empty")
    if len(spelling) > ORIGINAL_MAX_LENGTH:
        raise ValidationError(
            f"a document type name has at most {ORIGINAL_MAX_LENGTH} characters; "
            f"got {len(spelling)}"
        )
    return spelling


def normalize_type_name(name: str, language: str = "mixed") -> str:
    """The registry key of a type name: lower case, diacritics folded, words joined by `_`,
    function words of `language` (`ro`, `en`, `mixed`) dropped unless nothing else is left.

    "Contract de Vânzare-Cumpărare" → "contract_vanzare_cumparare". Longer results are cut at a
    word boundary to the column's 255 characters.
    """
    try:
        stop_words = STOP_WORDS[language]
    except KeyError:
        raise ValidationError(
            f"unknown language {language!r}; expected one of {', '.join(STOP_WORDS)}"
        ) from None
    words = _WORD.findall(fold_diacritics(clean_spelling(name).casefold()))
    if not words:
        raise ValidationError(f"the document type name {name!r} has no letters or digits")
    words = [word for word in words if word not in stop_words] or words
    normalized = "_".join(words)
    if len(normalized) > NORMALIZED_MAX_LENGTH:
        normalized = normalized[: NORMALIZED_MAX_LENGTH + 1].rsplit("_", 1)[0]
    return normalized[:NORMALIZED_MAX_LENGTH]
