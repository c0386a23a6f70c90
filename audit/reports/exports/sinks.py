"""The writing end of every export: sinks (one per file format) that take column-wise chunks,
and :func:`atomic_write`, which writes to a temporary name beside the destination and renames it
into place only when complete, so a crash never leaves a half-written file under the final name.

Also the small pieces every export shares: its error, the progress callback, option checks.
"""

import csv
import json
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Progress = Callable[[int, int], None]  # (rows done, rows total)


class ExportError(Exception):
    """Bad export options: the message says what to fix."""


def check_choice(value: str, allowed: Iterable[str], what: str) -> None:
    if value not in allowed:
        raise ExportError(f"unknown {what} {value!r}: choose one of {', '.join(allowed)}")


def as_json(value) -> Any:
    """A JSON column from either backend (text, or already decoded)."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _iso(value: str | None) -> str | None:
    """UTC text from the selectors as ISO 8601 with its offset."""
    return None if value is None else value + "+00:00"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # int, small, float, bool, str, category, ts, list


def atomic_write(path: Path, write: Callable[[Path], int]) -> int:
    """Run ``write(temporary_path)`` and rename the result to ``path`` only if it succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f"{path.name}.part-{uuid.uuid4().hex[:8]}")
    try:
        result = write(part)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return result


# Text cells a spreadsheet would run as a formula (OWASP "CSV injection"): in CSV exports they
# get a leading apostrophe; Parquet and JSONL keep the value as it is.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value):
    """A CSV cell that cannot start a spreadsheet formula; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# --- Sinks: one per file format; they take column-wise chunks ---------------------------------


class CsvSink:
    def __init__(self, path: Path, columns: list[Column]):
        self.columns = columns
        self.fh = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self.writer = csv.writer(self.fh)
        self.writer.writerow([c.name for c in columns])

    def write(self, data: list[list]) -> None:
        out = []
        for column, values in zip(self.columns, data, strict=True):
            if column.kind == "ts":
                values = [_iso(v) for v in values]
            elif column.kind == "list":
                values = [";".join(v) for v in values]
            if column.kind in ("str", "list", "category"):
                values = [neutralise_formula(v) for v in values]
            out.append(values)
        self.writer.writerows(zip(*out, strict=True))

    def close(self) -> None:
        self.fh.close()


class JsonlSink:
    def __init__(self, path: Path, columns: list[Column]):
        self.columns = columns
        self.fh = open(path, "w", encoding="utf-8")  # noqa: SIM115

    def write(self, data: list[list]) -> None:
        names = [c.name for c in self.columns]
        out = []
        for column, values in zip(self.columns, data, strict=True):
            if column.kind == "ts":
                values = [_iso(v) for v in values]
            out.append(values)
        dumps = json.dumps
        self.fh.writelines(
            dumps(dict(zip(names, row, strict=True)), ensure_ascii=False) + "\n"
            for row in zip(*out, strict=True)
        )

    def close(self) -> None:
        self.fh.close()


def arrow_type(kind: str):
    import pyarrow as pa

    return {
        "int": pa.int64(),
        "small": pa.int16(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "str": pa.string(),
        "category": pa.dictionary(pa.int32(), pa.string()),
        "ts": pa.timestamp("us", tz="UTC"),
        "list": pa.list_(pa.string()),
    }[kind]


class ParquetSink:
    """One row group per chunk, through pyarrow's ParquetWriter."""

    def __init__(self, path: Path, columns: list[Column], metadata: dict[str, str] | None = None):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa = pa
        self.columns = columns
        self.schema = pa.schema(
            [pa.field(c.name, arrow_type(c.kind)) for c in columns], metadata=metadata or None
        )
        self.writer = pq.ParquetWriter(str(path), self.schema, compression="snappy")

    def _array(self, column: Column, values: list):
        pa = self.pa
        if column.kind == "category":
            return pa.array(values, pa.string()).dictionary_encode()
        if column.kind == "ts":  # UTC text: parsed by Arrow in bulk
            return pa.array(values, pa.string()).cast(pa.timestamp("us")).cast(arrow_type("ts"))
        return pa.array(values, arrow_type(column.kind))

    def write(self, data: list[list]) -> None:
        arrays = [self._array(c, v) for c, v in zip(self.columns, data, strict=True)]
        self.writer.write_table(self.pa.Table.from_arrays(arrays, schema=self.schema))

    def close(self) -> None:
        self.writer.close()


SINKS = {"csv": CsvSink, "jsonl": JsonlSink, "parquet": ParquetSink}


def write_chunks(
    path: Path,
    fmt: str,
    columns: list[Column],
    chunks: Iterable[list[list]],
    metadata: dict[str, str] | None = None,
) -> int:
    """Write column-wise chunks to ``path`` through the format's sink; returns the row count.
    ``metadata`` goes into the file's key-value metadata where the format has it (Parquet)."""
    sink = ParquetSink(path, columns, metadata) if fmt == "parquet" else SINKS[fmt](path, columns)
    rows = 0
    try:
        for data in chunks:
            if data and data[0]:
                sink.write(data)
                rows += len(data[0])
    finally:
        sink.close()
        if hasattr(chunks, "close"):
            chunks.close()  # a failed write: end the reading now (its cursor, its transaction)
    return rows
