"""Bytes -> text for files and pages whose encoding nobody declared.

Newsroom files come as UTF-8 (with or without BOM) or in a legacy Chinese
encoding. Decoding GBK as UTF-8 (or Big5 as GBK) yields mojibake that looks
like text, so the order matters: strict UTF-8 first, then a declared charset,
then detection among the encodings that actually occur, and only then a
lossy decode that costs the bad bytes, not the article.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# GB2312 and GBK are subsets of GB18030: decoding with the superset never loses.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
              "big5": "big5hkscs", "cp950": "big5hkscs", "ascii": "utf-8", "us-ascii": "utf-8",
              "iso-8859-1": "cp1252", "latin-1": "cp1252"}
_CANDIDATES = ["utf_8", "gb18030", "big5hkscs", "big5", "cp1252"]
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{2,40})""", re.I)


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    lost_bytes: int = 0      # bytes that could not be decoded and were dropped

    @property
    def note(self) -> str | None:
        if self.lost_bytes:
            return f"{self.lost_bytes} undecodable byte(s) dropped (read as {self.encoding})"
        return None


def canonical(name: str | None) -> str | None:
    """The codec to decode a declared charset with, or None if Python has none."""
    if not name:
        return None
    name = name.strip().lower()
    name = _SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def declared_charset(data: bytes) -> str | None:
    """The charset an HTML document declares in its first bytes."""
    m = _META_CHARSET.search(data[:4096])
    return canonical(m.group(1).decode("ascii", "ignore")) if m else None


def decode(data: bytes, declared: str | None = None) -> Decoded:
    """Decode bytes: BOM, strict UTF-8, declared charset, detection, then lossy."""
    if data.startswith(codecs.BOM_UTF8):
        return _lossy(data[3:], "utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _lossy(data, "utf-16")
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    declared = canonical(declared)
    if declared and declared != "utf-8":
        try:
            return Decoded(data.decode(declared), declared)
        except UnicodeDecodeError:
            pass
    # UTF-8 with a few broken bytes: keep it UTF-8, lose the bytes. Legacy
    # encodings read as UTF-8 give almost no valid multi-byte characters.
    utf8 = _lossy(data, "utf-8")
    multibyte = sum(1 for ch in utf8.text if ord(ch) > 0x7F)
    if multibyte >= 4 * utf8.lost_bytes:
        return utf8
    import charset_normalizer          # only for bytes that are not UTF-8: its import costs 25 ms
    best = charset_normalizer.from_bytes(data, cp_isolation=_CANDIDATES).best()
    if best is not None:
        return _lossy(data, canonical(best.encoding) or best.encoding)
    return _lossy(data, declared or "gb18030")


def _lossy(data: bytes, encoding: str) -> Decoded:
    text = data.decode(encoding, errors="replace")
    lost = text.count("\ufffd") - data.decode(encoding, errors="ignore").count("\ufffd")
    return Decoded(text.replace("\ufffd", "") if lost else text, encoding, lost)


def decode_declared(data: bytes, declared: list[str | None]) -> Decoded:
    """Decode a web page: HTTP header charset, then <meta charset>, then detection.

    A declared charset is used only if the bytes really are in it (strictly);
    pages mislabelled as gb2312 while being UTF-8 are common enough.
    """
    for name in declared:
        codec = canonical(name)
        if codec in _WESTERN and any(b > 0x7F for b in data):
            # A Western label on a page with high bytes: many CJK sites say
            # iso-8859-1 by server default. Every byte decodes in these, so
            # mislabelled GBK would come out as mojibake; detection decides.
            found = decode(data)
            if found.encoding not in _WESTERN or found.lost_bytes:
                return found
        if codec:
            try:
                return Decoded(data.decode(codec), codec)
            except UnicodeDecodeError:
                continue
    return decode(data)


_WESTERN = {"cp1252", "latin_1", "iso8859-15", "iso8859-1"}


# What a file that is not text starts with: it is skipped, not published as junk.
_MAGIC = [(b"PK\x03\x04", "zip"), (b"\x1f\x8b", "gzip"), (b"\x89PNG", "PNG"), (b"\x7fELF", "ELF executable"),
          (b"%PDF-", "PDF"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"7z\xbc\xaf", "7-Zip"),
          (b"Rar!", "RAR"), (b"BZh", "bzip2"), (b"\xfd7zXZ", "xz"), (b"\xd0\xcf\x11\xe0", "Office (OLE)"),
          (b"SQLite format 3", "SQLite database"), (b"\x00\x00\x01\x00", "icon")]


def binary_kind(data: bytes) -> str | None:
    """What kind of binary file these bytes are (None: they may be text)."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    head = data[:8192]
    if head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) \
            and head.count(0) > max(16, len(head) // 20):
        return "binary"        # many NUL bytes: no text encoding we read has them (a stray one is junk in text)
    return None
