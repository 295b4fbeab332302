"""HTML for the demo's panels, built from hits by pure functions.

Every piece of user or document text goes through :func:`html.escape`; the only markup that survives
from a document is the ``<em>``/``</em>`` pair OpenSearch puts around BM25-matched terms, re-inserted
by :func:`safe_highlight` after escaping and always balanced.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence

from .protocols import HitLike

NO_RESULTS_CLASS = "lacl-no-results"
SNIPPET_CHARS = 240
MODE_LABELS = {"bm25": "BM25", "dense": "dense", "hybrid": "hybrid"}
FUSION_LABELS = {"auto": "fitted profile (language-aware)", "learned": "learned ranker (about 3 × the server time)",
                 "minmax": "fixed weight (the slider)"}
LANGUAGE_NAMES = {
    "ar": "Arabic",
    "cs": "Czech",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "fi": "Finnish",
    "fr": "French",
    "hi": "Hindi",
    "hu": "Hungarian",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "nl": "Dutch",
    "pl": "Polish",
    "pt": "Portuguese",
    "ru": "Russian",
    "sk": "Slovak",
    "sv": "Swedish",
    "th": "Thai",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "vi": "Vietnamese",
    "zh": "Chinese",
}
_EM_TOKEN = re.compile(r"(</?em>)")
_BADGE_STYLE = (
    "display:inline-block;min-width:2.2em;text-align:center;padding:0 .4em;border-radius:.6em;"
    "font-size:.8em;font-weight:600;color:#fff;background:hsl({hue},55%,42%)"
)
_HIT_STYLE = "padding:.5em 0;border-bottom:1px solid #e5e7eb"
_EM_STYLE = "background:#fde68a;font-style:normal;padding:0 .1em;border-radius:.2em"


def language_name(lang: str | None) -> str:
    """``"de"`` -> ``"German"``; unknown codes are returned as they are, None as ``"unknown"``."""
    if not lang:
        return "unknown"
    return LANGUAGE_NAMES.get(lang.split("_")[0].split("-")[0].lower(), lang)


def badge(lang: str | None) -> str:
    """A small coloured badge with the language code (the colour is stable per language)."""
    code = html.escape(lang or "?")
    hue = sum(map(ord, lang or "?")) * 47 % 360
    title = html.escape(language_name(lang))
    return f'<span class="lacl-lang" title="{title}" style="{_BADGE_STYLE.format(hue=hue)}">{code}</span>'


def language_badge(lang: str | None) -> str:
    """The "detected language" line under the query box."""
    return (
        f'<div class="lacl-detected" data-lang="{html.escape(lang or "")}">Detected language: '
        f"{badge(lang)} {html.escape(language_name(lang))}</div>"
    )


def error_box(message: str) -> str:
    """A visible, escaped error message (never a stack trace)."""
    return (
        '<div class="lacl-error" role="alert" style="padding:.6em .8em;border-radius:.4em;'
        f'background:#fef2f2;color:#991b1b;border:1px solid #fecaca">{html.escape(message)}</div>'
    )


def safe_highlight(fragment: str) -> str:
    """Escape ``fragment`` but keep OpenSearch's ``<em>`` highlight tags, balanced.

    Every other tag (``<script>``, ``<img onerror=...>``, a stray ``</div>``) comes out as text. An
    unmatched ``<em>`` is closed at the end; an unmatched ``</em>`` is dropped.
    """
    out: list[str] = []
    open_em = False
    for token in _EM_TOKEN.split(fragment):
        if token == "<em>":
            if not open_em:
                out.append(f'<em style="{_EM_STYLE}">')
                open_em = True
        elif token == "</em>":
            if open_em:
                out.append("</em>")
                open_em = False
        else:
            out.append(html.escape(token))
    if open_em:
        out.append("</em>")
    return "".join(out)


def snippet(text: str, highlights: Sequence[str]) -> str:
    """The snippet HTML: BM25 highlight fragments when there are any, else the escaped text's start."""
    if highlights:
        return " … ".join(safe_highlight(f) for f in list(highlights)[:3])
    text = " ".join((text or "").split())
    if len(text) > SNIPPET_CHARS:
        text = text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"
    return html.escape(text)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def score_parts(scores: Mapping[str, float | None]) -> str:
    """``BM25 7.210 · dense 0.812 · fused 0.640`` with ``–`` for a part the ranking did not use."""
    return " · ".join(
        f"{label} {_fmt(scores.get(key))}"
        for key, label in (("bm25", "BM25"), ("dense", "dense"), ("fused", "fused"))
    )


def hit_html(hit: HitLike, rank: int) -> str:
    """One result: rank, language badge, title, snippet and score parts."""
    doc_id = html.escape(str(hit.doc_id))
    lang = hit.lang
    title = html.escape(hit.title or str(hit.doc_id))
    body = snippet(hit.text, hit.highlights or [])
    parts = score_parts(hit.scores or {})
    others = getattr(hit, "variants", None) or []
    variants = (f' <span class="lacl-variants" style="font-size:.8em;color:#6b7280">also in '
                f'{" ".join(badge(v) for v in others)}</span>' if others else "")
    return (
        f'<div class="lacl-hit" data-doc-id="{doc_id}" data-lang="{html.escape(lang or "")}"'
        f' style="{_HIT_STYLE}">'
        f'<div><span style="color:#6b7280">{rank}.</span> {badge(lang)} <b class="lacl-title">{title}</b> '
        f'<code style="font-size:.75em;color:#6b7280">{doc_id}</code>{variants}</div>'
        f'<div class="lacl-snippet" style="margin:.2em 0">{body}</div>'
        f'<div class="lacl-scores" style="font-size:.8em;color:#4b5563">score {_fmt(hit.score)} '
        f"({parts})</div></div>"
    )


def hits_html(hits: Sequence[HitLike], mode: str) -> str:
    """A ranking: a heading with the mode, then one block per hit (or a "no results" note)."""
    label = MODE_LABELS.get(mode, mode)
    head = f'<div class="lacl-ranking" data-mode="{html.escape(mode)}"><h4 style="margin:.2em 0">{label}</h4>'
    if not hits:
        return head + f'<p class="{NO_RESULTS_CLASS}">No results.</p></div>'
    return head + "".join(hit_html(hit, i) for i, hit in enumerate(hits, start=1)) + "</div>"


def header_html(
    index: str, info: Mapping[str, object] | None, encoders: Sequence[str], error: str | None
) -> str:
    """The header: index name, documents per language, encoder(s) — or why the index cannot be read."""
    title = '<h2 style="margin:0">lacl-search: cross-lingual search</h2>'
    if error is not None:
        return title + error_box(error)
    if info is None:
        return title + f"<div>Index <code>{html.escape(index)}</code>: loading its description…</div>"
    langs = info.get("langs") or {}
    by_lang = ", ".join(
        f"{badge(str(lang))} {int(n):,}"
        for lang, n in sorted(langs.items(), key=lambda kv: (-int(kv[1]), kv[0]))
    )  # type: ignore[union-attr]
    docs = int(info.get("docs", 0) or 0)  # type: ignore[call-overload]
    enc = " vs ".join(f"<code>{html.escape(e)}</code>" for e in encoders)
    if info.get("model"):
        enc += f" (index embedded with <code>{html.escape(str(info['model']))}</code>)"
    lines = [
        f"Index <code>{html.escape(str(info.get('index', index)))}</code>: "
        f'<b class="lacl-doc-count">{docs:,}</b> documents',
        f"by language: {by_lang}" if by_lang else "",
        f"encoder: {enc}",
        fusion_line(info.get("fusion")),  # type: ignore[arg-type]
    ]
    body = " · ".join(x for x in lines if x)
    if docs == 0:
        body += error_box(f"The index {index!r} is empty. Ingest documents first.")
    return f'{title}<div class="lacl-header" style="margin:.3em 0">{body}</div>'


def fusion_line(fusion: Mapping[str, object] | None) -> str:
    """What hybrid fuses with by default (``Searcher.index_info()["fusion"]``), for the header."""
    if not fusion:
        return ""
    if fusion.get("auto") != "language":
        return ('<span class="lacl-fusion" data-fusion="minmax">hybrid: min-max at the slider\'s weight (no fusion '
                "profile fitted for this encoder: <code>lacl-search fusion fit</code>)</span>")
    langs = list(fusion.get("languages") or [])  # type: ignore[call-overload]
    own = f"weights for {len(langs)} query languages and a fallback" if langs else "fallback weights"
    ranker = ", learned ranker available" if fusion.get("learned") else ""
    return (f'<span class="lacl-fusion" data-fusion="language">hybrid: fitted language-aware fusion ({own}{ranker})'
            "</span>")


def hit_dict(hit: HitLike) -> dict:
    """A hit as plain JSON data for the API endpoint (raw text, no HTML)."""
    return {
        "doc_id": str(hit.doc_id),
        "lang": hit.lang,
        "title": hit.title,
        "text": hit.text,
        "score": float(hit.score),
        "scores": dict(hit.scores or {}),
        "highlights": list(hit.highlights or []),
        "variants": list(getattr(hit, "variants", None) or []),
    }
