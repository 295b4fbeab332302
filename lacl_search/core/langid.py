"""Language identification for documents and queries that arrive without a ``lang``.

Uses ``lingua-language-detector`` (its n-gram models ship inside the wheel, so it works offline) in
low-accuracy mode (trigram models only, loaded in well under a second) over the languages in
:data:`CANDIDATES`. Restricting the candidates matters: over all 75 languages, "Bibliothek zum Parsen
von XML-Dateien" came out Nynorsk with confidence 0.99; over these 40 it is German (0.96), and
high-accuracy mode took 7 s to load without doing better. Very short or ambiguous texts ("web server")
return None rather than a guess; callers then fall back to the language-agnostic fields.

Language codes are ISO 639-1 (``de``, ``ja``, ``zh``). :func:`normalize_lang` maps locale-style codes
(``pt_BR``, ``zh_CN``, ``en-US``) to that form so filters, analyzers and reports agree.
"""

from __future__ import annotations

import functools
import logging

from lacl_search.core import schema

log = logging.getLogger(__name__)

MIN_CONFIDENCE = 0.6
# Languages with an analyzer in the index schema, plus common ones without (searched through the
# language-agnostic fields). Languages lingua does not know are left out.
CANDIDATES = tuple(sorted({*schema.LANGUAGE_ANALYZERS, "uk", "sk", "pl", "sl", "hr", "sr", "he", "vi"} - {"no"}))


def normalize_lang(lang: str | None) -> str | None:
    """Return the lower-case primary subtag of a language code (``"pt_BR"`` -> ``"pt"``), or None."""
    if lang is None:
        return None
    code = str(lang).strip().replace("-", "_").split("_", 1)[0].lower()
    return code or None


@functools.lru_cache(maxsize=1)
def _detector():
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    known = [getattr(IsoCode639_1, code.upper()) for code in CANDIDATES if hasattr(IsoCode639_1, code.upper())]
    log.debug("building the lingua language detector for %d languages", len(known))
    languages = [Language.from_iso_code_639_1(code) for code in known]
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


@functools.lru_cache(maxsize=4096)
def detect_language(text: str, min_confidence: float = MIN_CONFIDENCE) -> str | None:
    """Return the ISO 639-1 code of ``text``'s language, or None when unsure or empty."""
    text = (text or "").strip()
    if not text:
        return None
    values = _detector().compute_language_confidence_values(text[:2000])
    if not values or values[0].value < min_confidence:
        return None
    return values[0].language.iso_code_639_1.name.lower()


def detect_languages(texts: list[str], min_confidence: float = MIN_CONFIDENCE) -> list[str | None]:
    """:func:`detect_language` for many texts."""
    return [detect_language(t, min_confidence) for t in texts]


def document_language(lang: str | None, title: str | None, text: str) -> str | None:
    """A document's language: its given code (normalised), else detected from title and text."""
    return normalize_lang(lang) or detect_language(f"{title or ''} {text}")
