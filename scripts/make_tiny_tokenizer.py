"""Rebuild tests/fixtures/tiny-tokenizer (a small multilingual WordPiece tokenizer for offline tests).

Run: python scripts/make_tiny_tokenizer.py   (deterministic; the output is committed)
"""

from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

CORPUS = [
    "fast search engine for text documents", "schnelle Suchmaschine für Textdokumente",
    "moteur de recherche rapide pour documents texte", "motor de búsqueda rápido para documentos",
    "motore di ricerca veloce per documenti", "テキスト文書のための高速検索エンジン",
    "быстрая поисковая система для текстовых документов", "文本文件的快速搜索引擎",
    "library for parsing XML files", "Bibliothek zum Parsen von XML-Dateien",
    "bibliothèque pour analyser les fichiers XML", "XMLファイルを解析するためのライブラリ",
    "библиотека для разбора XML файлов", "command line tool to compress images",
    "Kommandozeilenwerkzeug zum Komprimieren von Bildern", "outil en ligne de commande pour compresser des images",
    "画像を圧縮するコマンドラインツール", "утилита командной строки для сжатия изображений",
    "python bindings for the audio library", "Python-Anbindung für die Audio-Bibliothek",
    "web server with ssl support", "Webserver mit SSL-Unterstützung", "serveur web avec support ssl",
]
OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tiny-tokenizer"


def main() -> None:
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = trainers.WordPieceTrainer(vocab_size=600, special_tokens=specials, min_frequency=1)
    tok.train_from_iterator(CORPUS * 3, trainer)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    tok.decoder = decoders.WordPiece()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=128,
    )
    fast.save_pretrained(OUT)
    print(OUT, tok.get_vocab_size())


if __name__ == "__main__":
    main()
