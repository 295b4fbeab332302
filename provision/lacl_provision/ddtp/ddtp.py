"""Debian's human translations of package descriptions (DDTP), fetched with apt and cleaned.

apt downloads the ``Translation-XX`` indexes of one suite into a private lists folder under
``paths.cache_dir("ddtp")`` (one ``apt-get update`` for all languages, since apt drops the list files
of languages left out of ``Acquire::Languages``), together with the ``Packages`` index that gives each
binary package's ``Source``. Records are keyed by ``Description-md5``, the md5 of the English
description, which is the same id in every language. See ``/work/shared/notes/ddtp-data.md``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lacl_search.core import paths

log = logging.getLogger(__name__)

MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
APT_HELPER = "/usr/lib/apt/apt-helper"
TRAIN_LANGS = ("de", "fr", "es", "it", "ja", "ru", "zh_CN", "pt_BR")
HELDOUT_LANGS = ("da", "sk", "uk", "ko", "pl", "cs", "fi", "nl", "sv", "hu")
PLACEHOLDERS = frozenset({"", "na", "n/a", "<trans>", "todo", "-", ".", "none"})
_COMPRESSED = re.compile(r"\.(lz4|gz|xz|zst)$")
_BULLET = re.compile(r"^([*•·+o-]|\d{1,2}[.)])\s")
_CJK = re.compile(r"[\u2e80-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


@dataclass(frozen=True)
class Description:
    """One package description in one language.

    Attributes:
        md5: ``Description-md5`` of the English original (the id shared by every language).
        lang: Debian language code (``en``, ``de``, ``zh_CN``, ...).
        short: the one-line summary, or ``""`` when unusable (placeholder, identical to English).
        long: the long description, paragraphs separated by ``"\\n"``; ``""`` when unusable.
    """

    md5: str
    lang: str
    short: str
    long: str


@dataclass
class DdtpData:
    """All cleaned descriptions of one suite.

    Attributes:
        english: md5 -> English description.
        translations: lang -> md5 -> translated description (cleaned; English-identical parts blanked).
        packages: md5 -> sorted binary package names carrying that description.
        sources: binary package name -> source package name.
        dropped: counters of what cleaning removed, keyed ``"<lang>:<reason>"``.
    """

    english: dict[str, Description]
    translations: dict[str, dict[str, Description]]
    packages: dict[str, list[str]]
    sources: dict[str, str]
    dropped: Counter = field(default_factory=Counter)


def lists_dir(suite: str = SUITE) -> Path:
    """Return the private apt lists folder of ``suite`` (created, with its ``partial/``)."""
    folder = paths.cache_dir("ddtp", suite, "lists")
    (folder / "partial").mkdir(exist_ok=True)
    return folder


def fetch(langs: Iterable[str], suite: str = SUITE, refresh: bool = False) -> Path:
    """Download the Translation and Packages indexes of ``suite`` with one ``apt-get update``.

    Args:
        langs: language codes wanted besides ``en``.
        suite: Debian suite (``bookworm``).
        refresh: re-download even when an earlier fetch covered these languages.

    Returns:
        The lists folder holding the ``*_i18n_Translation-XX.lz4`` and ``*_Packages.lz4`` files.
    """
    folder = lists_dir(suite)
    stamp = folder.parent / "fetched.json"
    wanted = sorted({"en", *langs})
    done = json.loads(stamp.read_text())["langs"] if stamp.exists() else []
    if not refresh and set(wanted) <= set(done):
        log.info("reusing apt lists in %s (%d languages)", folder, len(done))
        return folder
    wanted = sorted(set(wanted) | set(done))
    sources = folder.parent / "sources.list"
    sources.write_text(f"deb [signed-by={KEYRING}] {MIRROR} {suite} main\n")
    cmd = ["apt-get", "-q", "update", "-o", f"Dir::State::Lists={folder}",
           "-o", f"Dir::Etc::SourceList={sources}", "-o", "Dir::Etc::SourceParts=/nonexistent",
           "-o", "Dir::Cache::pkgcache=", "-o", "Dir::Cache::srcpkgcache=",
           "-o", f"Acquire::Languages={','.join(wanted)}",
           "-o", "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false",
           "-o", "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"]
    if os.geteuid() == 0:
        cmd += ["-o", "APT::Sandbox::User=root"]  # _apt cannot enter root's home folder
    log.info("apt-get update for %s into %s", ",".join(wanted), folder)
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"apt-get update failed: {result.stderr.strip()[-500:]}")
    stamp.write_text(json.dumps({"langs": wanted, "suite": suite, "mirror": MIRROR}))
    return folder


def index_file(folder: Path, kind: str) -> Path | None:
    """Return the list file ending in ``kind`` (``Translation-de``, ``binary-amd64_Packages``), if any."""
    quoted = kind.replace("_", "%5f") if kind.startswith("Translation-") else kind
    hits = sorted(p for p in folder.iterdir() if _COMPRESSED.sub("", p.name).endswith("_" + quoted))
    return hits[0] if hits else None


def read_index(path: Path) -> str:
    """Return the text of an apt list file: plain files directly, compressed ones via ``apt-helper``."""
    if not _COMPRESSED.search(path.name):
        return path.read_text(encoding="utf-8", errors="replace")
    result = subprocess.run([APT_HELPER, "cat-file", str(path)], capture_output=True, check=True)
    return result.stdout.decode("utf-8", errors="replace")


def iter_stanzas(text: str) -> Iterator[dict[str, str]]:
    """Yield deb822 stanzas as ``{field: value}``; continuation lines are kept with ``"\\n"``."""
    for block in text.split("\n\n"):
        stanza: dict[str, str] = {}
        key = None
        for line in block.split("\n"):
            if line.startswith((" ", "\t")) and key is not None:
                stanza[key] += "\n" + line
            elif ":" in line:
                key, _, value = line.partition(":")
                stanza[key] = value.strip()
        if stanza:
            yield stanza


def join_lines(lines: list[str]) -> str:
    """Join wrapped lines of one paragraph: no space where either side is a CJK character."""
    out = ""
    for line in (" ".join(part.split()) for part in lines):
        if not line:
            continue
        if out and not (_CJK.match(out[-1]) or _CJK.match(line[0])):
            out += " "
        out += line
    return out


def clean_long(body: str) -> str:
    """Turn a deb822 long description into plain text.

    Lines begin with one space and a line ``" ."`` is a paragraph break. Wrapped lines are joined
    (without a space between CJK characters); a list item (``*``, ``-``, ``1.``...) starts a new line,
    and its more-indented continuation lines are joined to it.

    Returns:
        Paragraphs separated by ``"\\n"``, or ``""`` for an empty or placeholder text.
    """
    paragraphs: list[str] = []
    current: list[str] = []
    for raw in body.split("\n"):
        line = raw[1:] if raw.startswith(" ") else raw
        if line.strip() == ".":
            paragraphs.append(join_lines(current))
            current = []
        elif _BULLET.match(line.strip()) and current:
            paragraphs.append(join_lines(current))
            current = [line]
        else:
            current.append(line)
    paragraphs.append(join_lines(current))
    text = "\n".join(p for p in paragraphs if p)
    return "" if normalize(text) in PLACEHOLDERS else text


def normalize(text: str) -> str:
    """Case- and width-folded text with collapsed spaces, for equality tests."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def parse_translation(text: str, lang: str) -> Iterator[tuple[str, Description]]:
    """Yield ``(package, Description)`` for each stanza of a ``Translation-<lang>`` index."""
    key = f"Description-{lang}"
    for stanza in iter_stanzas(text):
        md5, value = stanza.get("Description-md5"), stanza.get(key)
        if not md5 or value is None:
            continue
        short, _, body = value.partition("\n")
        short = short.strip()
        if normalize(short) in PLACEHOLDERS:
            short = ""
        yield stanza.get("Package", ""), Description(md5, lang, short, clean_long(body))


def parse_sources(text: str) -> dict[str, str]:
    """Map binary package -> source package from a ``Packages`` index (absent Source = package)."""
    sources = {}
    for stanza in iter_stanzas(text):
        package = stanza.get("Package")
        if package:
            sources[package] = stanza.get("Source", package).split(" ")[0] or package
    return sources


def clean_translation(desc: Description, english: Description | None) -> tuple[Description | None, str]:
    """Check a translation against its English original.

    Returns:
        ``(cleaned, reason)``: ``cleaned`` has English-identical parts blanked, or is ``None`` when
        nothing usable is left; ``reason`` names what was removed (``""`` when nothing was).
    """
    if english is None:
        return None, "stale"
    short = "" if normalize(desc.short) == normalize(english.short) else desc.short
    long = "" if desc.long and normalize(desc.long) == normalize(english.long) else desc.long
    if not short and not long:
        return None, "identical" if desc.short or desc.long else "empty"
    reason = "short_identical" if desc.short and not short else ""
    reason = reason or ("long_identical" if desc.long and not long else "")
    return Description(desc.md5, desc.lang, short, long), reason


def load(folder: Path, langs: Iterable[str]) -> DdtpData:
    """Parse and clean the English originals, the translations of ``langs`` and the source map.

    Args:
        folder: an apt lists folder filled by :func:`fetch`.
        langs: translation languages to read (missing index files are logged and skipped).

    Returns:
        The cleaned :class:`DdtpData`; ``dropped`` counts stale, identical and empty translations.
    """
    en_path = index_file(folder, "Translation-en")
    pkg_path = index_file(folder, "binary-amd64_Packages")
    if en_path is None or pkg_path is None:
        raise FileNotFoundError(f"no Translation-en / Packages index in {folder}; run with --refresh")
    data = DdtpData(english={}, translations={}, packages={}, sources=parse_sources(read_index(pkg_path)))
    owners: dict[str, set[str]] = {}
    for package, desc in parse_translation(read_index(en_path), "en"):
        data.english.setdefault(desc.md5, desc)
        owners.setdefault(desc.md5, set()).add(package)
    data.packages = {md5: sorted(names) for md5, names in owners.items()}
    for lang in langs:
        path = index_file(folder, f"Translation-{lang}")
        if path is None:
            log.warning("no Translation-%s index in %s", lang, folder)
            continue
        kept: dict[str, Description] = {}
        for _, desc in parse_translation(read_index(path), lang):
            if desc.md5 in kept:
                continue
            cleaned, reason = clean_translation(desc, data.english.get(desc.md5))
            if reason:
                data.dropped[f"{lang}:{reason}"] += 1
            if cleaned is not None:
                kept[desc.md5] = cleaned
        data.translations[lang] = kept
        log.info("%s: %d usable translations", lang, len(kept))
    return data
