import pytest

from lacl_search.core.langid import detect_language, normalize_lang


@pytest.mark.parametrize(("code", "expected"), [("pt_BR", "pt"), ("zh_CN", "zh"), ("en-US", "en"), ("DE", "de"),
                                                (None, None), ("", None)])
def test_normalize_lang(code, expected):
    assert normalize_lang(code) == expected


@pytest.mark.parametrize(("text", "lang"), [
    ("Bibliothek zum Parsen von XML-Dateien", "de"),
    ("outil en ligne de commande pour compresser des images", "fr"),
    ("画像を圧縮するコマンドラインツール", "ja"),
    ("утилита командной строки для сжатия изображений", "ru"),
    ("文本文件的快速搜索引擎", "zh"),
])
def test_detects_sentences_offline(text, lang):
    assert detect_language(text) == lang


def test_unsure_or_empty_is_none():
    assert detect_language("   ") is None
    assert detect_language("ok", min_confidence=0.99) is None
