"""Language identification for documents and queries that arrive without a ``lang``.

Uses ``lingua-language-detector`` (its n-gram models ship inside the wheel, so it works offline) in
low-accuracy mode: trigram models only, loaded in well under a second, accurate on sentences. Very
short or ambiguous texts ("web server") return None rather than a guess; callers then fall back to
the language-agnostic fields.

Language codes are ISO 639-1 (``de``, ``ja``, ``zh``). :func:`normalize_lang` maps locale-style codes
(``pt_BR``, ``zh_CN``, ``en-US``) to that form so filters, analyzers and reports agree.
"""

from __future__ import annotations

import functools
import logging

log = logging.getLogger(__name__)

MIN_CONFIDENCE = 0.5


def normalize_lang(lang: str | None) -> str | None:
    """Return the lower-case primary subtag of a language code (``"pt_BR"`` -> ``"pt"``), or None."""
    if lang is None:
        return None
    code = str(lang).strip().replace("-", "_").split("_", 1)[0].lower()
    return code or None


@functools.lru_cache(maxsize=1)
def _detector():
    from lingua import LanguageDetectorBuilder

    log.debug("building the lingua language detector")
    return LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()


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
