"""Read an import's rows from CSV, JSONL or a DataFrame, and preview the first few.

Rows come out as ``(line number, raw values by column)``, streamed, so a large file
never sits in memory; the line numbers are what error messages name.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from itertools import islice
from typing import IO, Any

import pandas as pd

from labeler.services.data.import_spec import ImportFailed, Row


def decoded_lines(stream: IO[bytes], counter: list[int]) -> Iterator[str]:
    for number, raw in enumerate(stream, start=1):
        counter[0] += len(raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFailed(
                f"byte {exc.start + 1} of this line is not valid UTF-8 (save the file as UTF-8)",
                line=number,
            ) from None
        yield text.removeprefix("\ufeff") if number == 1 else text


# Fed to the CSV reader after the last line. Outside a quoted field it is a record of its
# own, and reading stops there; inside one (a quote never closed) it ends up in that
# field, which is how the reader tells a quote left open from a field with line breaks.
_END = "\uffff labeler: end of file \uffff\n"


def _with_end(lines: Iterator[str]) -> Iterator[str]:
    yield from lines
    yield _END


def _unterminated(line: int, header: list[str], values: list[str]) -> ImportFailed:
    column = next(i for i, value in enumerate(values) if value.endswith(_END))
    name = header[column] if column < len(header) else f"#{column + 1}"
    return ImportFailed(
        "a quoted field starts here and its quote is never closed, so every row after "
        "it would be read into this one field; close the quote (nothing was imported)",
        line=line,
        column=name,
    )


def read_csv(stream: IO[bytes], counter: list[int]) -> tuple[list[str], Iterator[Row]]:
    reader = csv.reader(_with_end(decoded_lines(stream, counter)))
    try:
        header = next(reader)
    except csv.Error as exc:
        raise ImportFailed(str(exc), line=1) from None
    if header == [_END.rstrip("\n")]:
        raise ImportFailed("the file is empty")
    if header and header[-1].endswith(_END):
        raise _unterminated(1, [], header)
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        raise ImportFailed("the header repeats a column name", line=1)

    def rows() -> Iterator[Row]:
        start = reader.line_num
        try:
            for values in reader:
                line = start + 1
                start = reader.line_num
                if not values:
                    continue
                if values == [_END.rstrip("\n")]:
                    return
                if values[-1].endswith(_END):
                    raise _unterminated(line, header, values)
                if len(values) != len(header):
                    raise ImportFailed(
                        f"{len(values)} values, but the header has {len(header)} columns", line=line
                    )
                yield line, dict(zip(header, values, strict=True))
        except csv.Error as exc:
            raise ImportFailed(str(exc), line=reader.line_num) from None

    return header, rows()


def read_jsonl(stream: IO[bytes], counter: list[int]) -> tuple[None, Iterator[Row]]:
    def rows() -> Iterator[Row]:
        for number, line in enumerate(decoded_lines(stream, counter), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ImportFailed(
                    f"malformed JSON ({exc.msg} at character {exc.colno})", line=number
                ) from None
            if not isinstance(value, dict):
                raise ImportFailed("each line must be a JSON object", line=number)
            yield number, value

    return None, rows()


def frame_rows(frame: pd.DataFrame) -> Iterator[Row]:
    """Rows of a DataFrame, numbered from 1; missing values become None."""
    columns = [str(c) for c in frame.columns]
    for start in range(0, len(frame), 10_000):
        part = frame.iloc[start : start + 10_000].astype(object)
        part = part.where(pd.notna(part), None)
        for offset, values in enumerate(part.itertuples(index=False, name=None)):
            yield start + offset + 1, dict(zip(columns, values, strict=True))


def preview(stream: IO[bytes], fmt: str, n: int = 5) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and first ``n`` rows of a file, for the column-mapping form."""
    counter = [0]
    if fmt == "csv":
        header, rows = read_csv(stream, counter)
        sample = [raw for _, raw in islice(rows, n)]
        return header, sample
    _, rows = read_jsonl(stream, counter)
    sample = [raw for _, raw in islice(rows, n)]
    columns = list(dict.fromkeys(key for raw in sample for key in raw))
    if not columns:
        raise ImportFailed("the file is empty")
    return columns, sample
