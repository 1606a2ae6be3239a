"""The one bound on what a search is given: a search box or an API parameter may carry any
amount of text, but a search uses at most MAX_SEARCH_WORDS words and MAX_SEARCH_CHARACTERS
characters of it and ignores the rest. Without it, the admin's own search builds one condition
per word and field (10 KB of words: thousands of ILIKEs on every row), the case search looks up
every word's spellings, and each page echoes the whole text into every one of its links."""

from __future__ import annotations

MAX_SEARCH_CHARACTERS = 200
MAX_SEARCH_WORDS = 20


def bounded_search(text: str | None) -> str:
    """`text`'s first MAX_SEARCH_WORDS words (split on white space, joined by one space), cut
    at MAX_SEARCH_CHARACTERS characters; "" for None."""
    if not text:
        return ""
    # Only the start is ever used: a 100 KB text is not split whole.
    head = text[: MAX_SEARCH_CHARACTERS * 4]
    words = head.split(maxsplit=MAX_SEARCH_WORDS)[:MAX_SEARCH_WORDS]
    return " ".join(words)[:MAX_SEARCH_CHARACTERS].rstrip()
