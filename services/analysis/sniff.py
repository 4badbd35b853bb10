"""Bytes-level detection: is this a text CSV at all, in which encoding, with which delimiter?

Everything here looks at the raw file before pandas does, because pandas' own errors for a ZIP
file, a UTF-16 file or a semicolon file read as commas are confusing ("Error tokenizing data") or,
worse, silently wrong (one column named "Store;Dept;Date").
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from services.analysis.errors import AnalysisError, first_lines

HEAD_BYTES = 64 * 1024
MAX_LINE_BYTES = 16 * 2**20        # one line (one row) may be this long; the sniff reads at least two lines
LINE_BREAK = re.compile(r"\r\n|\r|\n")   # not str.splitlines(): Latin-1 \x85 ("…" in cp1252) is no line break
csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES))   # the csv module's default is 128 KB
CANDIDATES = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"),
              (b"PK\x03\x04", "ZIP (an Excel .xlsx workbook is one too)"))
BINARY = ((b"\x89PNG", "a PNG image"), (b"%PDF", "a PDF document"), (b"\xff\xd8\xff", "a JPEG image"),
          (b"GIF8", "a GIF image"), (b"\xd0\xcf\x11\xe0", "an old-style Excel/Office file"),
          (b"\x7fELF", "a program"), (b"SQLite format 3", "an SQLite database"))


@dataclass(frozen=True)
class Sniffed:
    encoding: str        # a Python codec name
    delimiter: str
    has_header: bool
    header: list[str]


def check_not_binary(head: bytes) -> None:
    for magic, kind in COMPRESSED:
        if head.startswith(magic):
            raise AnalysisError("compressed", f"The file is {kind}-compressed; upload the plain .csv file instead.",
                                415)
    for magic, kind in BINARY:
        if head.startswith(magic):
            raise AnalysisError("not_csv", f"The file is {kind}, not a CSV text file.", 415)


def detect_encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise AnalysisError("not_csv", "The file contains binary data (NUL bytes); it is not a CSV text file.", 415)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    text = head.decode("latin-1")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n")
    if controls > len(text) / 100:
        raise AnalysisError("not_text", "The file is neither UTF-8 nor Latin-1 text; it does not look like a CSV.",
                            415)
    return "latin-1"


def _sample_lines(text: str, complete: bool) -> list[str]:
    lines = LINE_BREAK.split(text)
    if not complete and len(lines) > 1:
        lines = lines[:-1]                      # the head may end mid-line
    return [ln for ln in lines if ln.strip()][:200]


def detect_delimiter(lines: list[str]) -> str:
    """The candidate that splits the sample into the same number (> 1) of fields most consistently."""
    best, best_score = None, (0.0, 0)
    for cand in CANDIDATES:
        counts = [len(row) for row in csv.reader(lines, delimiter=cand)]
        mode, freq = Counter(counts).most_common(1)[0]
        if mode < 2:
            continue
        score = (freq / len(counts), mode)
        if score > best_score:
            best, best_score = cand, score
    if best is None:
        raise AnalysisError("no_delimiter", "Could not find the column separator: no comma, semicolon, tab or pipe "
                            "splits the lines into columns. Is this a CSV file with more than one column?", 400)
    header_fields = len(next(csv.reader(lines[:1], delimiter=best)))
    stray = [i + 1 for i, row in enumerate(csv.reader(lines, delimiter=best)) if len(row) == 1 and header_fields > 1]
    if stray:
        others = [DELIMITER_NAMES[c] for c in CANDIDATES if c != best and any(c in lines[i - 1] for i in stray)]
        if others:
            raise AnalysisError("mixed_delimiters", f"Mixed separators: most lines use {DELIMITER_NAMES[best]}s but "
                                f"{first_lines(stray)} {'uses' if len(stray) == 1 else 'use'} {' or '.join(others)}s.", 400, stray[:20])
    return best


def _is_number(field: str) -> bool:
    try:
        float(field.replace(",", "").replace(" ", ""))
        return True
    except ValueError:
        return False


def detect_header(lines: list[str], delimiter: str) -> tuple[bool, list[str]]:
    rows = list(csv.reader(lines[:2], delimiter=delimiter))
    first = [f.strip() for f in rows[0]]
    numeric_first = sum(_is_number(f) for f in first if f)
    if numeric_first == 0 or (len(rows) > 1 and numeric_first < sum(_is_number(f) for f in rows[1] if f) / 2):
        return True, first
    return False, [f"column_{i + 1}" for i in range(len(first))]


def _read_head(path: Path) -> tuple[bytes, bool]:
    """The first 64 KB, or more until it holds the header and one data line (a 500 KB field is fine)."""
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
        while len(LINE_BREAK.findall(head.decode("latin-1"))) < 2 and len(head) <= 2 * MAX_LINE_BYTES:
            more = handle.read(max(len(head), HEAD_BYTES))
            if not more:
                break
            head += more
        complete = not handle.read(1)
    for number, line in enumerate(LINE_BREAK.split(head.decode("latin-1"), maxsplit=2)[:2], 1):
        if len(line) > MAX_LINE_BYTES:
            raise line_too_long(number)
    return head, complete


def line_too_long(line: int) -> AnalysisError:
    return AnalysisError("line_too_long", f"Line {line} is longer than {MAX_LINE_BYTES / 2**20:g} MB, the longest "
                         "line this reader accepts; is the file really a CSV?", 400, [line])


def sniff(path: Path) -> Sniffed:
    head, complete = _read_head(path)
    check_not_binary(head)
    encoding = detect_encoding(path, head)
    text = head.decode(encoding, errors="ignore") if encoding != "utf-8-sig" else head.decode("utf-8-sig", "ignore")
    lines = _sample_lines(text, complete)
    if not lines:
        raise AnalysisError("empty", "The file is empty (no lines with content).", 400)
    delimiter = detect_delimiter(lines) if len(lines) > 0 else ","
    has_header, header = detect_header(lines, delimiter)
    if has_header and len(lines) == 1:
        raise AnalysisError("header_only", "The file has a header line but no data rows.", 422)
    return Sniffed(encoding, delimiter, has_header, header)


def decoded_lines(path: Path, encoding: str):
    """Text lines of the whole file (for the field-count scan), without line endings."""
    with io.open(path, encoding=encoding, newline="") as handle:
        for line in handle:
            yield line.rstrip("\r\n")
