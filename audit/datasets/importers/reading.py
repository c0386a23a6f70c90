"""Streaming readers: records out of a JSON array, JSON Lines or CSV file, never the whole file
in memory. Each yields ``(position, record)`` with 1-based positions and reports bytes read."""

import codecs
import csv
import io
import json
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

from audit.datasets.errors import FileFormatError, RecordError, RecordProblem

CHUNK_BYTES = 1 << 20
_WHITESPACE = re.compile(r"[ \t\n\r]*")

Record = tuple[int, Any]


class ByteCounter:
    """Wraps a binary file and remembers how many bytes were read (for progress)."""

    def __init__(self, fp: BinaryIO):
        self.fp = fp
        self.bytes_read = 0

    def read(self, n: int = -1) -> bytes:
        data = self.fp.read(n)
        self.bytes_read += len(data)
        return data

    def readline(self, limit: int = -1) -> bytes:
        data = self.fp.readline(limit)
        self.bytes_read += len(data)
        return data

    # Enough of the binary-file protocol for io.TextIOWrapper (the CSV reader).
    read1 = read
    closed = False

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        pass


def iter_json_array(fp: ByteCounter, *, max_record_bytes: int) -> Iterator[Record]:
    """Yield the elements of a top-level JSON array one by one.

    Uses the C decoder's ``raw_decode`` on a sliding buffer: a record cut by the buffer's end is
    retried with more data; a record that is still incomplete past ``max_record_bytes`` fails.
    """
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8-sig")()
    buf = ""
    pos = 0
    eof = False
    position = 0

    def more() -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        data = fp.read(CHUNK_BYTES)
        try:
            text = utf8.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise FileFormatError(
                RecordProblem(
                    f"the file is not valid UTF-8 (byte {fp.bytes_read - len(data) + exc.start})",
                    record=position + 1,
                )
            ) from None
        if not data:
            eof = True
        if pos:
            buf = buf[pos:]
            pos = 0
        buf += text
        return bool(data)

    def skip_ws() -> str:
        nonlocal pos
        while True:
            pos = _WHITESPACE.match(buf, pos).end()
            if pos < len(buf):
                return buf[pos]
            if not more():
                return ""

    def syntax_error(message: str) -> FileFormatError:
        return FileFormatError(RecordProblem(f"invalid JSON: {message}", record=position + 1))

    more()
    if skip_ws() != "[":
        raise FileFormatError(RecordProblem("expected a JSON array of records ('[' ... ']')"))
    pos += 1
    while True:
        ch = skip_ws()
        if ch == "]":
            pos += 1
            if skip_ws():
                raise syntax_error("unexpected data after the closing ']'")
            return
        if position:
            if ch != ",":
                raise syntax_error(f"expected ',' or ']' between records, found {ch!r}")
            pos += 1
            ch = skip_ws()
        if not ch:
            raise syntax_error("the file ends inside the array (truncated?)")
        while True:
            try:
                value, end = decoder.raw_decode(buf, pos)
            except json.JSONDecodeError as exc:
                if len(buf) - pos > max_record_bytes:
                    raise FileFormatError(
                        RecordProblem(
                            f"record larger than {max_record_bytes} bytes, or not valid JSON",
                            record=position + 1,
                        )
                    ) from None
                if more():
                    continue
                raise syntax_error(exc.msg) from None
            if end == len(buf) and not eof and more():
                continue  # a scalar cut at the buffer's end: parse again with more data
            break
        pos = end
        position += 1
        yield position, value


def iter_json_lines(fp: ByteCounter, *, max_record_bytes: int) -> Iterator[Record]:
    """Yield one record per non-blank line; a bad line is that record's error, not the file's."""
    position = 0
    while True:
        line = fp.readline(max_record_bytes + 1)
        if not line:
            return
        if len(line) > max_record_bytes and not line.endswith(b"\n"):
            raise FileFormatError(
                RecordProblem(f"line longer than {max_record_bytes} bytes", record=position + 1)
            )
        if position == 0 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]
        if not line.strip():
            continue
        position += 1
        try:
            yield position, json.loads(line)
        except UnicodeDecodeError:
            yield position, RecordError(RecordProblem("the line is not valid UTF-8", position))
        except json.JSONDecodeError as exc:
            yield position, RecordError(RecordProblem(f"invalid JSON: {exc.msg}", position))


def iter_csv(fp: ByteCounter, *, max_record_bytes: int) -> Iterator[Record]:
    """Yield one dict per CSV row, keyed by the header."""
    csv.field_size_limit(max_record_bytes)
    text = io.TextIOWrapper(fp, encoding="utf-8-sig", newline="")  # type: ignore[arg-type]
    try:
        reader = csv.DictReader(text)
        for position, row in enumerate(reader, start=1):
            if None in row:
                yield (
                    position,
                    RecordError(RecordProblem("more values than header columns", record=position)),
                )
                continue
            yield position, row
    except UnicodeDecodeError:
        raise FileFormatError(RecordProblem("the file is not valid UTF-8")) from None
    except csv.Error as exc:
        raise FileFormatError(RecordProblem(f"invalid CSV: {exc}")) from None
    finally:
        text.detach()


READERS: dict[str, Callable[..., Iterator[Record]]] = {
    "json": iter_json_array,
    "jsonl": iter_json_lines,
    "csv": iter_csv,
}


def detect_container(fp: BinaryIO) -> str:
    """'json' when the first non-blank byte opens an array, else 'jsonl'; rewinds ``fp``."""
    head = fp.read(4096).lstrip(codecs.BOM_UTF8).lstrip()
    fp.seek(0)
    return "json" if head.startswith(b"[") else "jsonl"


class ReadAhead:
    """``work(item)`` for each item, run in a background thread a few batches ahead of the
    consumer, the results yielded in order.

    The import uses it to read and parse records while the main thread waits on the database
    (PostgreSQL and Python then work on separate cores). An exception raised by the items or by
    ``work`` is re-raised to the consumer where it happened, after the results before it. ``work``
    must not use the database (Django connections belong to their thread). ``snapshot()`` is
    taken after each batch (the import passes the bytes read, for progress) and is available as
    ``.snapshot`` for the batch being consumed. Call ``close()`` when done, also on error: it
    stops the thread and waits for it.
    """

    _DONE = object()

    def __init__(
        self,
        items: Iterable,
        work: Callable[[Any], Any],
        *,
        batch_size: int = 64,
        depth: int = 100,
        snapshot: Callable[[], Any] | None = None,
        yield_gil: bool = True,
    ):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._yield_gil = yield_gil
        self._stop = threading.Event()
        self._snapshot = snapshot
        self.snapshot = snapshot() if snapshot else None
        self._thread = threading.Thread(
            target=self._run, args=(items, work, batch_size), name="import-read-ahead", daemon=True
        )
        self._thread.start()

    def _put(self, value: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(value, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, items: Iterable, work: Callable[[Any], Any], batch_size: int) -> None:
        snapshot = self._snapshot
        yield_gil = self._yield_gil
        batch: list = []
        end: Any = self._DONE
        try:
            for item in items:
                batch.append(work(item))
                if not len(batch) % 8:
                    # Let the consumer take the GIL now if it is waiting for it (woken by the
                    # database, say), rather than after the 5 ms switch interval. Not when
                    # other threads (the image workers) want it too: then each yield cost a
                    # wait of its own to get it back, and the parsing fell behind.
                    if yield_gil:
                        time.sleep(0)
                    if len(batch) >= batch_size:
                        if not self._put((batch, snapshot() if snapshot else None)):
                            return
                        batch = []
        except BaseException as exc:  # handed to the consumer, raised there
            end = exc
        if batch and not self._put((batch, snapshot() if snapshot else None)):
            return
        self._put(end)

    def __iter__(self) -> Iterator:
        while True:
            got = self._queue.get()
            if got is self._DONE:
                return
            if isinstance(got, BaseException):
                raise got
            batch, self.snapshot = got
            yield from batch

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
