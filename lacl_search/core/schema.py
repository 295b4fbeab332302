"""The index schema: field names, the language-analyzer table, and the index body builder.

Layout of one document::

    doc_id      keyword      the caller's id (also the OpenSearch ``_id``: re-ingesting is idempotent)
    lang        keyword      ISO 639-1 (``de``, ``ja``, ``zh``); see :func:`lacl_search.core.langid.normalize_lang`
    title       text         language-agnostic analyzer (ICU or standard tokens, CJK bigrams, lowercase)
    text        text         same analyzer
    title_i18n.<lang>, text_i18n.<lang>
                text         the document's own language analyzer (stemming, stop words), filled only
                             for the document's language: a French text is never run through the
                             German stemmer, and indexing cost does not grow with the table's size
    vector      knn_vector   HNSW, ``engine: lucene`` always; dimension and space from the encoder
    metadata    object       arbitrary caller metadata; strings become keywords (filterable)
    content_hash keyword     hash of what was embedded and stored (text, title, lang, metadata, model
                             fingerprint, document prefix); kept in ``_source`` only (not indexed), read
                             back by incremental ingestion to skip unchanged documents

The vector dimension and space type always come from the encoder's own config
(:func:`index_body` takes them from an :class:`~lacl_search.core.encoder.EncoderConfig` and ``dim``), so the
index can never disagree with the model that fills it.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 1
DOC_ID, LANG, TITLE, TEXT, VECTOR, METADATA = "doc_id", "lang", "title", "text", "vector", "metadata"
TITLE_I18N, TEXT_I18N = "title_i18n", "text_i18n"
CONTENT_HASH = "content_hash"
BASE_ANALYZER = "lacl_multilingual"
KNN_ENGINE = "lucene"  # the only engine whose code ships in the Maven k-NN build (no faiss/nmslib natives)
SPACE_TYPES = ("cosinesimil", "innerproduct", "l2")

# Language -> analyzer, all from OpenSearch's analysis-common module (CJK: the cjk bigram analyzer).
# Languages not listed are searched through the language-agnostic base fields only.
LANGUAGE_ANALYZERS: dict[str, str] = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "bn": "bengali", "bg": "bulgarian",
    "ca": "catalan", "cs": "czech", "da": "danish", "nl": "dutch", "en": "english",
    "et": "estonian", "fi": "finnish", "fr": "french", "gl": "galician", "de": "german",
    "el": "greek", "hi": "hindi", "hu": "hungarian", "id": "indonesian", "ga": "irish",
    "it": "italian", "lv": "latvian", "lt": "lithuanian", "no": "norwegian", "nb": "norwegian",
    "fa": "persian", "pt": "portuguese", "ro": "romanian", "ru": "russian", "es": "spanish",
    "sv": "swedish", "tr": "turkish", "th": "thai", "zh": "cjk", "ja": "cjk", "ko": "cjk",
}


VECTOR_QUANTIZATIONS = ("none", "sq")


@dataclass(frozen=True)
class HnswParams:
    """HNSW graph parameters of the Lucene engine (OpenSearch k-NN docs, "Methods and engines").

    ``quantization="sq"``: Lucene's scalar quantisation (int7) of the vectors the graph search reads
    (``encoder: {name: sq, parameters: {bits: 7}}``, OpenSearch >= 2.16). Measured on a dev benchmark it
    held nDCG@10 and R@100; it saves the memory HNSW search needs, not disk (Lucene keeps the float32
    vectors too): see docs/encoding.md.
    """

    m: int = 16
    ef_construction: int = 128
    quantization: str = "none"

    def __post_init__(self) -> None:
        if self.quantization not in VECTOR_QUANTIZATIONS:
            raise ValueError(f"vector quantization must be one of {VECTOR_QUANTIZATIONS}, got {self.quantization!r}")


def i18n_field(base: str, lang: str) -> str:
    """``text`` + ``de`` -> ``text_i18n.de``; raises for a language without an analyzer."""
    if lang not in LANGUAGE_ANALYZERS:
        raise ValueError(f"no language analyzer for {lang!r}")
    return f"{base}_i18n.{lang}"


def analysis_settings(icu: bool = False) -> dict:
    """The custom base analyzer: ICU (or standard) tokens, width-folded, lower-cased, CJK bigrams."""
    return {
        "analyzer": {
            BASE_ANALYZER: {
                "type": "custom",
                "tokenizer": "icu_tokenizer" if icu else "standard",
                "filter": ["cjk_width", "lowercase", "cjk_bigram"],
            }
        }
    }


def vector_mapping(dim: int, space_type: str, hnsw: HnswParams | None = None) -> dict:
    """A ``knn_vector`` mapping on the Lucene engine (the only one this project ever creates)."""
    if space_type not in SPACE_TYPES:
        raise ValueError(f"space_type must be one of {SPACE_TYPES}, got {space_type!r}")
    if dim <= 0:
        raise ValueError(f"vector dimension must be positive, got {dim}")
    hnsw = hnsw or HnswParams()
    parameters: dict = {"m": hnsw.m, "ef_construction": hnsw.ef_construction}
    if hnsw.quantization == "sq":  # 7-bit; OpenSearch 3.x requires ``bits``, 2.19 accepts it
        parameters["encoder"] = {"name": "sq", "parameters": {"bits": 7}}
    return {
        "type": "knn_vector",
        "dimension": dim,
        "method": {"name": "hnsw", "engine": KNN_ENGINE, "space_type": space_type, "parameters": parameters},
    }


def _i18n_object() -> dict:
    return {"properties": {lang: {"type": "text", "analyzer": an} for lang, an in LANGUAGE_ANALYZERS.items()}}


# Primary shards of a new index. Two, not OpenSearch's one: on a single-shard index the neural-search plugin
# fetches `_source` and highlights for every hit each hybrid sub-query collected (pagination_depth per leg)
# before normalising, since query and fetch run as one phase there; with two or more shards it fetches the
# final page only. Measured on dev-mixed (6,107 docs, language-aware hybrid, depth 30): 10.2 ms mean server
# time on one shard, 2.6 ms on two (docs/fusion.md, "Fifth session").
DEFAULT_SHARDS = 2


def index_body(
    dim: int, space_type: str, meta: dict | None = None, icu: bool = False, hnsw: HnswParams | None = None,
    shards: int = DEFAULT_SHARDS,
) -> dict:
    """The create-index body, in bulk-load state (replicas 0, refresh off; see :func:`serving_settings`).

    Args:
        dim: embedding dimension (``Encoder.dim``).
        space_type: k-NN space (``EncoderConfig.space_type``).
        meta: stored in the mapping's ``_meta`` (model name, fingerprint, corpus fingerprint, ...).
        icu: use ``icu_tokenizer`` (analysis-icu plugin) instead of ``standard`` for the base fields.
        hnsw: HNSW parameters.
        shards: primary shards (:data:`DEFAULT_SHARDS`).
    """
    if shards < 1:
        raise ValueError(f"shards must be >= 1, got {shards}")
    text_field = {"type": "text", "analyzer": BASE_ANALYZER}
    return {
        "settings": {
            "index": {"knn": True, "number_of_shards": shards, **bulk_load_settings()},
            "analysis": analysis_settings(icu),
        },
        "mappings": {
            "_meta": {"schema_version": SCHEMA_VERSION, "dim": dim, "space_type": space_type, **(meta or {})},
            "dynamic_templates": [
                {"metadata_strings": {"path_match": f"{METADATA}.*", "match_mapping_type": "string",
                                      "mapping": {"type": "keyword", "ignore_above": 1024}}}
            ],
            "properties": {
                DOC_ID: {"type": "keyword"},
                LANG: {"type": "keyword"},
                TITLE: dict(text_field),
                TEXT: dict(text_field),
                TITLE_I18N: _i18n_object(),
                TEXT_I18N: _i18n_object(),
                VECTOR: vector_mapping(dim, space_type, hnsw),
                METADATA: {"type": "object", "dynamic": True},
                CONTENT_HASH: {"type": "keyword", "index": False, "doc_values": False},
            },
        },
    }


def bulk_load_settings() -> dict:
    """Index settings while bulk loading: no replicas, no periodic refresh."""
    return {"number_of_replicas": 0, "refresh_interval": "-1"}


def serving_settings(replicas: int | None = None) -> dict:
    """Index settings after loading: 1 s refresh; replicas auto-expand 0-1 unless given."""
    settings: dict = {"refresh_interval": "1s"}
    if replicas is None:
        settings["auto_expand_replicas"] = "0-1"
    else:
        settings["auto_expand_replicas"] = False
        settings["number_of_replicas"] = replicas
    return {"index": settings}


def document_source(
    doc_id: str, text: str, vector: list[float], lang: str | None = None,
    title: str | None = None, metadata: dict | None = None, content_hash: str | None = None,
) -> dict:
    """The ``_source`` of one document, with the language fields filled for its language."""
    source: dict = {DOC_ID: doc_id, TEXT: text, VECTOR: vector}
    if title:
        source[TITLE] = title
    if lang:
        source[LANG] = lang
        if lang in LANGUAGE_ANALYZERS:
            source[TEXT_I18N] = {lang: text}
            if title:
                source[TITLE_I18N] = {lang: title}
    if metadata:
        source[METADATA] = metadata
    if content_hash:
        source[CONTENT_HASH] = content_hash
    return source
