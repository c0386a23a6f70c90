"""Property-based fuzzing of every importer (hypothesis): malformed records, odd encodings,
huge fields, wrong types and hostile zips. Each time the import fails with ImportFailed whose
problems name the record and the field (or the file / zip member), and the database and the
image store are exactly as before. Inputs that happen to be valid must import without a crash.

Examples are few and derandomised (CI time, repeatable failures); see the README of hypothesis
for ``--hypothesis-seed`` to explore further by hand.
"""

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.datasets.errors import ImportFailed
from audit.datasets.importers import formats
from audit.datasets.services import dataset_import
from tests.conftest import pmv_record, png_bytes, store_files, table_counts, write_zip

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text that has broken importers elsewhere: NUL, lone surrogates (valid JSON escapes, invalid
# Unicode), BOM, bidi override, markup, odd line ends, astral characters.
POISON = ["\x00", "a\x00b", "\ud800", "x\udfffy", "\udc80"]
ODD_BUT_VALID = [
    "\ufeff",
    "\u202e",
    "<script>alert(1)</script>",
    "\r\n",
    "é",
    "\U0001d518",  # an astral character
    "[x](javascript:1)",
]
WRONG_TYPES = st.one_of(
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=False),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(["a", "value", "from"]), st.integers(), max_size=2),
)
# The three JSON formats, each with a good record and the fields a mutation may break.
JSON_FORMATS = {
    "pubmedvision": dict(method_key=None),
    "llava": dict(method_key="mllm_distill"),
    "gmai": dict(method_key="llm_reformatted"),
}


def good_record(fmt: str, n: int) -> dict:
    record = pmv_record(f"r{n}", [f"images/{n}.png"], question=f"<image>Q{n}?", answer=f"A{n}.")
    if fmt == "gmai":
        record.update(width=64, height=48)
    return record


@pytest.fixture
def before(tmp_path, settings):
    """A dataset with an image already in place, that no failed import may disturb."""
    zip_path = write_zip(tmp_path / "ok.zip", {"images/ok.png": png_bytes()})
    path = tmp_path / "ok.json"
    path.write_text(json.dumps([pmv_record("ok", ["images/ok.png"])]))
    dataset_import(path=path, dataset_name="Existing", image_sources=[zip_path])
    return {"tmp": tmp_path, "settings": settings}


class Fuzz:
    """Runs one import and checks the outcome: a clean failure, or (where allowed) success."""

    def __init__(self, before):
        self.tmp: Path = before["tmp"]
        self.settings = before["settings"]
        self.n = 0

    def file(self, suffix: str, data: bytes) -> Path:
        self.n += 1
        path = self.tmp / f"fuzz-{self.n}{suffix}"
        path.write_bytes(data)
        return path

    def run(self, path: Path, *, may_succeed: bool = False, **kwargs) -> ImportFailed | None:
        counts, files = table_counts(), store_files(self.settings)
        outside = sorted(p.name for p in self.tmp.parent.iterdir())
        try:
            dataset_import(path=path, dataset_name=f"Fuzz {self.n}", **kwargs)
        except ImportFailed as failed:
            assert failed.problems, "an import failure must say why"
            for problem in failed.problems:
                assert str(problem).strip() and problem.message.strip()
            assert table_counts() == counts, f"rows left behind: {failed}"
            assert store_files(self.settings) == files, f"files left behind: {failed}"
            assert sorted(p.name for p in self.tmp.parent.iterdir()) == outside
            return failed
        assert may_succeed, "this input is invalid but was imported"
        return None


def set_path(record: dict, path: tuple, value) -> None:
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


BREAKABLE = {
    # field path -> the field name the error must carry
    ("conversations",): "conversations",
    ("conversations", 0): "conversations[0]",
    ("conversations", 0, "value"): "value",
    ("conversations", 1, "value"): "value",
    ("conversations", 0, "from"): "conversations[0].from",
    ("image",): "image",
    ("image", 0): "image[0]",
}
TEXT_FIELDS = [
    ("conversations", 0, "value"),
    ("conversations", 1, "value"),
    ("modality",),
    ("body_part",),
    ("image", 0),
]


@st.composite
def broken_json_file(draw):
    fmt = draw(st.sampled_from(sorted(JSON_FORMATS)))
    records = [good_record(fmt, n) for n in range(draw(st.integers(1, 3)))]
    at = draw(st.integers(0, len(records) - 1))
    kind = draw(st.sampled_from(["wrong type", "missing", "poison text", "not an object"]))
    field = None
    if kind == "wrong type":
        path = draw(st.sampled_from(sorted(BREAKABLE, key=str)))
        value = draw(WRONG_TYPES)
        # A list of strings is a valid image list and a list of one turn-like dict is not
        # a type error for every path: keep only values that are really wrong there.
        if path == ("image",):
            value = draw(
                st.one_of(
                    st.integers(),
                    st.booleans(),
                    st.dictionaries(st.text(max_size=3), st.integers(), min_size=1, max_size=2),
                )
            )
        if path[-1] in ("value", "from") or path == ("image", 0):
            value = draw(
                st.one_of(
                    st.integers(),
                    st.booleans(),
                    st.lists(st.integers(), max_size=2),
                    st.floats(allow_nan=False),
                )
            )
        set_path(records[at], path, value)
        field = BREAKABLE[path]
    elif kind == "missing":
        key = draw(st.sampled_from(["conversations", "image"]))
        del records[at][key]
        field = key
    elif kind == "poison text":
        path = draw(st.sampled_from(TEXT_FIELDS))
        prefix = draw(st.sampled_from(["", *ODD_BUT_VALID]))
        set_path(records[at], path, prefix + draw(st.sampled_from(POISON)))
        field = path[-1] if isinstance(path[-1], str) else f"{path[0]}[{path[1]}]"
    else:
        records[at] = draw(
            st.one_of(
                st.integers(), st.text(max_size=5), st.none(), st.lists(st.integers(), max_size=2)
            )
        )
    # JSON escapes keep lone surrogates and NUL in the file as the attacker wrote them.
    jsonl = draw(st.booleans())
    text = "\n".join(json.dumps(r) for r in records) + "\n" if jsonl else json.dumps(records)
    return fmt, jsonl, text.encode(), at + 1, field


@FUZZ
@given(case=broken_json_file())
def test_json_formats_reject_broken_records_by_record_and_field(before, case):
    fmt, jsonl, data, record_no, field = case
    fuzz = Fuzz(before)
    path = fuzz.file(".jsonl" if jsonl else ".json", data)
    failed = fuzz.run(path, fmt=fmt, method_key=JSON_FORMATS[fmt]["method_key"])
    problem = failed.problems[0]
    assert problem.record == record_no, str(failed)
    if field is not None:
        assert field in (problem.field or ""), str(failed)


@FUZZ
@given(
    fmt=st.sampled_from(sorted(JSON_FORMATS)),
    size=st.integers(1, 3),
    huge_field=st.sampled_from(["answer", "question", "modality", "image", "turns", "images"]),
)
def test_huge_fields_are_refused(before, fmt, size, huge_field):
    """Each field has a limit (a text field, a short label, a path, how many turns and images);
    one over it fails its record, naming the field."""
    fuzz = Fuzz(before)
    records = [good_record(fmt, n) for n in range(size)]
    last = records[-1]
    if huge_field == "answer":
        last["conversations"][1]["value"] = "x" * (formats.MAX_TEXT_CHARS + 1)
    elif huge_field == "question":
        last["conversations"][0]["value"] = "x" * (formats.MAX_TEXT_CHARS + 1)
    elif huge_field == "image":
        last["image"] = ["images/" + "x" * formats.MAX_PATH_CHARS + ".png"]
    elif huge_field == "images":
        last["image"] = [f"images/{n}.png" for n in range(formats.MAX_IMAGES + 1)]
    elif huge_field == "turns":
        fuzz.settings.IMPORT_MAX_RECORD_BYTES = 256 * 1024  # the record below is ~1.5 MB
        last["conversations"] = last["conversations"] * 20_000
    else:
        last["modality"] = "x" * (formats.MAX_SHORT_CHARS + 1)
    path = fuzz.file(".json", json.dumps(records).encode())
    failed = fuzz.run(path, fmt=fmt, method_key=JSON_FORMATS[fmt]["method_key"])
    assert failed.problems[0].record == size, str(failed)


@FUZZ
@given(
    fmt=st.sampled_from(sorted(JSON_FORMATS)),
    mutation=st.sampled_from(["latin-1", "nul byte", "truncate", "garbage", "bom", "utf-16"]),
    at=st.floats(0, 1),
    garbage=st.binary(min_size=1, max_size=8),
)
def test_odd_encodings_and_damaged_bytes(before, fmt, mutation, at, garbage):
    records = [good_record(fmt, n) for n in range(3)]
    records[1]["conversations"][1]["value"] = "Läsion im Thorax"
    text = json.dumps(records, ensure_ascii=False)
    data = text.encode()
    cut = int(len(data) * at)
    may_succeed = False
    if mutation == "latin-1":
        data = text.encode("latin-1")
    elif mutation == "nul byte":
        data = data[:cut] + b"\x00" + data[cut:]
    elif mutation == "truncate":
        data = data[: min(cut, len(data) - 1)]
    elif mutation == "garbage":
        data = data[:cut] + garbage + data[cut:]
        may_succeed = True  # e.g. a space inserted between tokens is still valid JSON
    elif mutation == "bom":
        data = b"\xef\xbb\xbf" + data
        may_succeed = True  # a UTF-8 BOM is harmless; either accepted or refused cleanly
    else:
        data = text.encode("utf-16")
    fuzz = Fuzz(before)
    failed = fuzz.run(
        fuzz.file(".json", data),
        may_succeed=may_succeed,
        fmt=fmt,
        method_key=JSON_FORMATS[fmt]["method_key"],
    )
    if mutation in ("latin-1", "utf-16"):
        assert "UTF-8" in str(failed)


GENERIC_MAP = {"id": "uid", "image": "img", "question": "q", "answer": "a", "modality": "mod"}


@st.composite
def generic_rows(draw):
    cell = st.one_of(
        st.text(max_size=12),
        st.sampled_from(POISON + ODD_BUT_VALID + ["  ", "\t"]),
        st.just(""),
    )
    rows = []
    for n in range(draw(st.integers(1, 4))):
        row = {"uid": f"g{n}", "img": f"images/{n}.png", "q": f"Q{n}?", "a": f"A{n}.", "mod": "CT"}
        for column in draw(st.lists(st.sampled_from(sorted(row)), max_size=2, unique=True)):
            row[column] = draw(cell)
        rows.append(row)
    return rows


def _is_bad(value) -> bool:
    return isinstance(value, str) and (
        "\x00" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    )


@FUZZ
@given(rows=generic_rows(), as_csv=st.booleans())
def test_generic_jsonl_and_csv(before, rows, as_csv):
    fuzz = Fuzz(before)
    if as_csv:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        data = out.getvalue().encode("utf-8", "surrogatepass")
        path = fuzz.file(".csv", data)
    else:
        data = "\n".join(json.dumps(r) for r in rows).encode() + b"\n"
        path = fuzz.file(".jsonl", data)
    # Every row must carry an image, a question and an answer; NUL and lone surrogates never.
    invalid = [
        n
        for n, row in enumerate(rows, 1)
        if any(_is_bad(v) for v in row.values())
        or not all(str(row[c]).strip() for c in ("img", "q", "a"))
    ]
    failed = fuzz.run(
        path,
        may_succeed=not invalid,
        fmt="csv" if as_csv else "jsonl",
        method_key="native_caption",
        column_map=GENERIC_MAP,
    )
    if invalid:
        has_surrogate = any(
            any(0xD800 <= ord(c) <= 0xDFFF for c in v) for row in rows for v in row.values()
        )
        if as_csv and has_surrogate:
            # In a CSV file a surrogate is bytes that are not UTF-8: the file is refused.
            assert "not valid UTF-8" in str(failed)
        else:
            assert invalid[0] in {p.record for p in failed.problems}, str(failed)


HOSTILE_NAMES = [
    "../evil.png",
    "../../evil.png",
    "images/../../evil.png",
    "/abs/evil.png",
    "C:/evil.png",
    "..\\evil.png",
]


@st.composite
def hostile_zip(draw):
    members = {"images/0.png": png_bytes()}
    kinds = draw(
        st.lists(
            st.sampled_from(["name", "symlink", "bomb", "lying size"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    for kind in kinds:
        if kind == "name":
            members[draw(st.sampled_from(HOSTILE_NAMES))] = png_bytes(colour=(1, 2, 3))
        else:
            members[kind] = None
    return kinds, members


def write_hostile_zip(path: Path, members: dict) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            if name == "symlink":
                link = zipfile.ZipInfo("images/1.png")
                link.external_attr = 0o120777 << 16
                zf.writestr(link, "/etc/passwd")
            elif name == "bomb":
                # 8 MiB of zeros in ~8 KiB: over the (lowered) byte limit when unpacked.
                zf.writestr("images/2.png", b"\x00" * (8 * 1024 * 1024))
            elif name == "lying size":
                zf.writestr("images/3.png", b"\x00" * (2 * 1024 * 1024))
            else:
                zf.writestr(name, data)
    if "lying size" in members:
        # Patch the declared size of images/3.png down to 10 bytes in both headers.
        raw = bytearray(path.read_bytes())
        size = (2 * 1024 * 1024).to_bytes(4, "little")
        small = (10).to_bytes(4, "little")
        raw = raw.replace(size, small)
        path.write_bytes(bytes(raw))


@FUZZ
@given(case=hostile_zip())
def test_hostile_zips_are_refused(before, case):
    kinds, members = case
    fuzz = Fuzz(before)
    fuzz.settings.IMAGE_MAX_BYTES = 1024 * 1024
    zip_path = fuzz.tmp / f"hostile-{fuzz.n}.zip"
    write_hostile_zip(zip_path, members)
    records = [pmv_record(f"z{n}", [f"images/{n}.png"]) for n in range(4)]
    path = fuzz.file(".json", json.dumps(records).encode())
    failed = fuzz.run(path, fmt="pubmedvision", image_sources=[zip_path])
    text = "\n".join(str(p) for p in failed.problems)
    if "name" in kinds:
        assert "evil.png" in text and ("escapes the image root" in text or "absolute" in text)
    if "symlink" in kinds:
        assert "'images/1.png' is a symbolic link" in text
    if "bomb" in kinds and "lying size" not in kinds and "name" not in kinds:
        assert "allowed" in text and "images/2.png" in text
    assert not (fuzz.tmp.parent / "evil.png").exists() and not Path("/abs/evil.png").exists()


@FUZZ
@given(data=st.binary(max_size=200), truncate=st.booleans())
def test_corrupt_zip_files(before, data, truncate):
    fuzz = Fuzz(before)
    zip_path = fuzz.tmp / f"bad-{fuzz.n}.zip"
    if truncate:
        write_zip(zip_path, {"images/0.png": png_bytes()})
        raw = zip_path.read_bytes()
        zip_path.write_bytes(raw[: max(1, len(raw) - 1 - len(data))])
    else:
        zip_path.write_bytes(data)
    path = fuzz.file(".json", json.dumps([pmv_record("c0", ["images/0.png"])]).encode())
    failed = fuzz.run(path, fmt="pubmedvision", image_sources=[zip_path])
    assert zip_path.name in str(failed) or "zip" in str(failed).lower()
