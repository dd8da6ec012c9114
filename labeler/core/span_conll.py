"""Reading CoNLL back: documents of one token per line with BIO tags, and their spans.

The file holds one line per token, its fields separated by tabs (or, without a tab,
by spaces): the token first, the tag in the last column. A blank line ends a
document; so does a ``-DOCSTART-`` line (CoNLL-2003), which is no token. Lines of
labeler's own export are read as written (see ``SpanKind.document``):

- ``# id = <external id>`` names the document's item;
- ``# columns = final alice bob`` names the tag columns (then every token line has
  the token and one tag per name); without it the tag is the last column;
- other lines starting ``# `` without a tab are comments.

Tokens carry no spacing, so a document's spans are placed on its item's own text:
its tokens must be that text's tokens exactly (:func:`conll_spans`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from labeler.core.span_text import Span, tokenize

DOCSTART = "-DOCSTART-"


class ConllError(ValueError):
    """A line that cannot stand; ``line`` is its number (from 1)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line, self.reason = line, message


@dataclass
class ConllDocument:
    """One document: where it starts, its id and tag column names when the file says
    them, and per token its text, its tags (one per column) and its line number."""

    line: int
    id: str | None = None
    columns: list[str] | None = None
    tokens: list[str] = field(default_factory=list)
    tags: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    def column(self, index: int) -> list[str]:
        return [tags[index] for tags in self.tags]


_ID = re.compile(r"#\s*id\s*=\s*(.*)$")
_COLUMNS = re.compile(r"#\s*columns\s*=\s*(.*)$")


def read_conll(lines: Iterable[str]) -> Iterator[ConllDocument]:
    """The documents of CoNLL ``lines`` (with or without their line ends), in order.

    Raises:
        ConllError: naming the line: a token without a tag, or a token line whose
            tag count is not the ``# columns`` header's.
    """
    columns: list[str] | None = None
    current: ConllDocument | None = None
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if number == 1:
            line = line.removeprefix("\ufeff")
        stripped = line.strip()
        if not stripped or stripped.split()[0] == DOCSTART:
            if current is not None and current.tokens:
                yield current
            current = None
            continue
        if line.startswith("#") and "\t" not in line:
            if found := _ID.match(stripped):
                if current is not None and current.tokens:
                    yield current
                current = ConllDocument(number, id=found.group(1).strip() or None)
            elif found := _COLUMNS.match(stripped):
                columns = found.group(1).split()
                if not columns:
                    raise ConllError("the columns line names no tag column", number)
                if current is not None and not current.tokens:
                    current.columns = columns
            continue
        if current is None:
            current = ConllDocument(number)
        if current.columns is None and not current.tokens:
            current.columns = columns
        parts = line.split("\t") if "\t" in line else line.split()
        if len(parts) < 2 or not parts[0] or not parts[-1]:
            raise ConllError("a token line needs the token, then its tag", number)
        if current.columns is not None:
            if len(parts) != 1 + len(current.columns):
                raise ConllError(
                    f"{len(parts) - 1} tags, but the columns line names "
                    f"{len(current.columns)} ({' '.join(current.columns)})",
                    number,
                )
            tags = parts[1:]
        else:
            tags = [parts[-1]]
        if current.tokens and len(tags) != len(current.tags[0]):
            raise ConllError(
                f"{len(tags)} tags, but the document's lines have {len(current.tags[0])}", number
            )
        current.tokens.append(parts[0])
        current.tags.append(tags)
        current.lines.append(number)
    if current is not None and current.tokens:
        yield current


def joined_text(document: ConllDocument) -> tuple[str, list[tuple[int, int]]]:
    """A text for a document that has none yet: its tokens joined by spaces, and
    where each token is in it."""
    offsets, at = [], 0
    for token in document.tokens:
        offsets.append((at, at + len(token)))
        at += len(token) + 1
    return " ".join(document.tokens), offsets


def conll_spans(
    text: str,
    document: ConllDocument,
    column: int,
    labels: Sequence[str],
    tokenizer: str = "words",
    offsets: Sequence[tuple[int, int]] | None = None,
) -> list[Span]:
    """The spans of tag column ``column`` of ``document`` on ``text``: its item's text,
    whose tokens must be the document's; or, with ``offsets`` (:func:`joined_text`),
    the document's own joined tokens. An ``I-X`` that continues no ``X`` starts one.

    Raises:
        ConllError: naming the line of the first token that is not the text's, or of
            a tag that is not ``O`` / ``B-X`` / ``I-X`` with X a label.
    """
    if offsets is None:
        offsets = tokenize(text, tokenizer)
        _same_tokens(text, offsets, document)
    spans: list[Span] = []
    current: str | None = None
    for n, (start, end) in enumerate(offsets):
        tag = document.tags[n][column]
        if tag == "O":
            current = None
            continue
        prefix, _, label = tag.partition("-")
        if prefix not in ("B", "I") or label not in labels:
            raise ConllError(
                f"tag {tag!r} is not O, B-X or I-X with X one of the labels ({', '.join(labels)})",
                document.lines[n],
            )
        if prefix == "I" and current == label:
            spans[-1]["end"] = end
        else:
            spans.append({"start": start, "end": end, "label": label})
            current = label
    return spans


def _same_tokens(text: str, tokens: Sequence[tuple[int, int]], document: ConllDocument) -> None:
    for n, (start, end) in enumerate(tokens):
        if n >= len(document.tokens):
            raise ConllError(
                f"the document ends after {len(document.tokens)} tokens, but its item's text "
                f"goes on with {text[start:end]!r} ({len(tokens)} tokens)",
                document.lines[-1],
            )
        if document.tokens[n] != text[start:end]:
            raise ConllError(
                f"token {document.tokens[n]!r} is not the item's text here ({text[start:end]!r})",
                document.lines[n],
            )
    if len(document.tokens) > len(tokens):
        raise ConllError(
            f"the item's text has {len(tokens)} tokens; this is token {len(tokens) + 1}",
            document.lines[len(tokens)],
        )
