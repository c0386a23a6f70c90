"""Import pipeline (pipeline.py): read (records from a file, reading.py) -> parse (a format's
record to a ParsedRecord, formats.py) -> resolve images -> write (batched; PostgreSQL COPY or the
ORM, writers.py)."""
