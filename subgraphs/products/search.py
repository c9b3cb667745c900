"""Catalog search on a normalized token field, the same on MongoDB, mongoeco and the in-memory fake.

Every product document carries `search_tokens`: the words of its name, description and SKUs, lower-cased
(case-folded) and accent-folded (NFKD without combining marks: "Crème" -> "creme"), split on anything
that is not a letter or a digit. It is recomputed on every write of the document (`catalog._derived`)
and by a start-up backfill for documents of an older `search_version`.

A search matches the products that have, for every word of the query, a token starting with it:
"alp back" finds "Alpine Backpack". Each word becomes an anchored, case-sensitive regex on the
token array (`^alp`), which MongoDB answers from the multikey index (status, search_tokens) as an
index range ["alp", "alq"). `$text` was not chosen: it matches whole (stemmed) words only, and
mongoeco's tokenizer neither stems nor folds like MongoDB's, so results would differ by server.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

SEARCH_VERSION = 1
MAX_TOKENS = 256
MAX_TOKEN_LENGTH = 48
_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Case- and accent-folded text: "Café CRÈME" -> "cafe creme"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    return [word[:MAX_TOKEN_LENGTH] for word in _WORD.findall(fold(text))]


def document_tokens(texts: Iterable[str]) -> list[str]:
    """The distinct words of `texts`, in order of appearance, at most MAX_TOKENS of them."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in words(text):
            seen.setdefault(word, None)
            if len(seen) >= MAX_TOKENS:
                return list(seen)
    return list(seen)


def search_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """The search fields of a product document (name, description and the variants' SKUs)."""
    texts = [doc.get("name") or "", doc.get("description") or "",
             *(v.get("sku") or "" for v in doc.get("variants", []))]
    return {"search_tokens": document_tokens(texts), "search_version": SEARCH_VERSION}


def search_clause(search: str) -> dict[str, Any]:
    """The filter for a search: every query word is the prefix of a token. A query with no word at
    all (only punctuation, such as ".*") matches nothing."""
    prefixes = list(dict.fromkeys(words(search)))
    if not prefixes:
        return {"search_tokens": {"$in": []}}
    clauses = [{"search_tokens": {"$regex": f"^{re.escape(prefix)}"}} for prefix in prefixes]
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
