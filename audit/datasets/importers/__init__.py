"""Import pipeline: read (records from a file) -> parse (a format's record to a ParsedRecord) ->
validate -> write (batched; PostgreSQL COPY or the ORM)."""
