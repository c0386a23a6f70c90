"""Errors raised while importing: each names the record, its id and the field."""

from dataclasses import dataclass


@dataclass(frozen=True)
class RecordProblem:
    """What is wrong with one input record (or with the file, when ``record`` is None)."""

    message: str
    record: int | None = None  # 1-based position in the file
    record_id: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = []
        if self.record is not None:
            where.append(f"record #{self.record}")
        if self.record_id:
            where.append(f"(id {self.record_id!r})")
        prefix = " ".join(where)
        field = f"{self.field}: " if self.field else ""
        return f"{prefix}: {field}{self.message}" if prefix else f"{field}{self.message}"

    def as_dict(self) -> dict:
        return {
            "record": self.record,
            "id": self.record_id,
            "field": self.field,
            "error": self.message,
        }


class RecordError(Exception):
    """A record (or the file) cannot be imported; carries the problem."""

    def __init__(self, problem: RecordProblem):
        super().__init__(str(problem))
        self.problem = problem


class FileFormatError(RecordError):
    """The file as a whole cannot be read further (bad JSON syntax, wrong top level, encoding)."""


class ImportFailed(Exception):
    """The import was rolled back: nothing of it is left in the database or the image store."""

    def __init__(self, problems: list[RecordProblem], summary: dict | None = None):
        self.problems = problems
        self.summary = summary or {}
        first = str(problems[0]) if problems else "import failed"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more)
