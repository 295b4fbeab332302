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


def build_detector(*, high_accuracy: bool = False):  # -> lingua.LanguageDetector
    """A lingua detector over :data:`CANDIDATES` (low-accuracy mode: trigram models only, fast to load)."""
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    known = [getattr(IsoCode639_1, code.upper()) for code in CANDIDATES if hasattr(IsoCode639_1, code.upper())]
    log.debug("building the lingua language detector for %d languages", len(known))
    builder = LanguageDetectorBuilder.from_languages(*(Language.from_iso_code_639_1(code) for code in known))
    return builder.build() if high_accuracy else builder.with_low_accuracy_mode().build()


@functools.lru_cache(maxsize=1)
def _detector():
    return build_detector()


def confidences(text: str, detector=None) -> list[tuple[str, float]]:
    """``[(code, confidence), ...]`` best first for ``text`` (empty for an empty text)."""
    text = (text or "").strip()
    if not text:
        return []
    values = (detector or _detector()).compute_language_confidence_values(text[:2000])
    return [(v.language.iso_code_639_1.name.lower(), float(v.value)) for v in values]


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


QUERY_MIN_CONFIDENCE = 0.5
QUICK_CONFIDENCE = 0.97


def _script_language(text: str) -> str | None:
    """A language that the script alone decides: kana -> ``ja``, Hangul -> ``ko`` (Han alone is ambiguous)."""
    for ch in text:
        code = ord(ch)
        if 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF:
            return "ja"
        if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
            return "ko"
    return None


@functools.lru_cache(maxsize=1)
def _precise_detector():
    return build_detector(high_accuracy=True)


@functools.lru_cache(maxsize=4096)
def detect_query_language(text: str) -> str | None:
    """The language of a short query, or None when unsure (then only language-agnostic fields are used).

    Short queries defeat trigram-only detection (measured on the 1,342 ``mixed`` dev queries: 80 % right,
    20 % wrong). So: the script decides where it can (kana, Hangul); a confident quick guess (low-accuracy
    mode, confidence >= 0.97) is kept; otherwise lingua's high-accuracy mode answers when its confidence is
    at least 0.5 (see ``benchmarks/langid_accuracy.py`` for the measured accuracy, error and abstention).
    """
    text = (text or "").strip()
    if not text:
        return None
    by_script = _script_language(text)
    if by_script:
        return by_script
    quick = confidences(text)
    if quick and quick[0][1] >= QUICK_CONFIDENCE:
        return quick[0][0]
    precise = confidences(text, _precise_detector())
    return precise[0][0] if precise and precise[0][1] >= QUERY_MIN_CONFIDENCE else None
