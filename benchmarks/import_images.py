"""Import with images: PubMedVision-schema records and their JPEGs, against the floor of copying
the images with ``cp -r`` and COPYing the records' text, measured in the same run.

    .venv/bin/python benchmarks/import_images.py [--records 20000] [--images 14000]
        [--zips 4] [--modes folder,zips,link,in-place]
        [--database-url postgres://postgres@127.0.0.1:5432/audit_bench_import] [--workdir /tmp]
        [--floor-repeats 3] [--settle-mb 32] [--settle-timeout 120] [--drop-caches] [--keep]

Generates under a fresh folder in ``--workdir``: ``PubMedVision_Alignment_VQA.json`` (the real
schema; 1 to 3 images per record, 75% one, naming the images in turn so that each is used by
one or more records) and the images as random-noise JPEGs of about 100 KB (real sizes: noise
does not compress), each different (its own comment segment), in a folder ``images/`` and in
``--zips`` stored zip files ``images_N.zip`` (like PubMedVision's). The image store is on the
same filesystem.

Then, on a recreated and migrated database:

floor     ``cp -r`` of the image folder into a scratch folder next to the store, plus COPY of
          the records' text (id, image paths, question, answer, modality, body part: one row a
          record) into a scratch table, in one transaction; each measured ``--floor-repeats``
          times (median, min and max printed) before and after the imports.
imports   ``dataset_import`` in a child process (Django started before the clock), each on an
          emptied database and store: images from the folder, from the zips (both copied into
          the store), with ``link`` (hard links from the folder) and ``in_place`` (the folder
          is an image root: nothing copied). Peak memory ("peak RSS") is the larger of the
          child's peak RSS (``wait4``, Django included) and the peak PSS of the child with its
          image worker processes (sampled every 50 ms; forked workers share pages).
          ``records-only`` (no ``--images``: the records without their images) is the import's
          own part, for reference: what the image pipeline adds is the rest.
rows      the import's own rows: after the first import of each kind (records only; images
          stored or linked; in place) the rows it wrote (images, source pairs, their image
          links, items) are exported with COPY TO; at the end, for each kind, the tables are
          emptied and the rows COPYed back into the real tables (their keys, indexes and
          foreign keys) in one transaction, ``--floor-repeats`` times (median): what
          PostgreSQL alone needs to write what the import writes.

Every timed step (each floor measurement, each import, after Django's start) begins on a
settled page cache: ``sync``, then waiting until Dirty + Writeback in /proc/meminfo fall below
``--settle-mb`` (at most ``--settle-timeout`` s; a step that did not settle says so), and with
``--drop-caches`` (root only) ``echo 3 > /proc/sys/vm/drop_caches``, so that every step reads
the images (and the database's files) from disk the same way.

read      with ``link`` or ``in-place`` among the modes: every image read once (``cat`` of the
          folder's files to /dev/null), measured with the floors: an import of images already
          on disk still reads each one (to check and hash it).

Targets (issue 17): a copying import <= 1.25x (cp + COPY); link and in-place <= 1.25x the COPY
alone; peak RSS <= 1 GB. Also printed: every import against its own rows COPYed, plus its files
(``cp -r`` for the copying imports, the read of the images for link and in-place). Generated
data, the store and the database are deleted at the end.
"""

import argparse
import io
import json
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FILE_NAME = "PubMedVision_Alignment_VQA.json"
TARGET_RATIO = 1.25
TARGET_RSS_MB = 1024
MODES = ("records-only", "folder", "zips", "link", "in-place")


# --- The data -------------------------------------------------------------------------------


def noise_jpegs(count: int, target_bytes: int, seed: int) -> list[bytes]:
    """``count`` distinct random-noise JPEGs of about ``target_bytes`` each."""
    from PIL import Image

    rng = random.Random(seed)
    side = 256
    out = []
    while len(out) < count:
        pixels = rng.randbytes(side * side * 3)
        buf = io.BytesIO()
        Image.frombytes("RGB", (side, side), pixels).save(buf, "JPEG", quality=90)
        data = buf.getvalue()
        if not out and abs(len(data) - target_bytes) > target_bytes // 10:
            side = int(side * (target_bytes / len(data)) ** 0.5)  # calibrate on the first one
            continue
        out.append(data)
    return out


def unique_jpeg(base: bytes, n: int) -> bytes:
    """The base JPEG with a comment segment naming ``n``: a different file, the same pixels."""
    comment = f"bench image {n}".encode()
    return base[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + base[2:]


def image_count(rng: random.Random) -> int:
    r = rng.random()
    return 1 if r < 0.75 else 2 if r < 0.92 else 3


def generate(workdir: Path, records: int, images: int, zips: int, seed: int = 20261204) -> dict:
    from audit.datasets.synthetic import DESCRIBE_QUESTIONS, MODALITIES, paragraph

    rng = random.Random(seed)
    folder = workdir / "src" / "images"
    folder.mkdir(parents=True)
    bases = noise_jpegs(24, 100_000, seed)
    names = [f"pmc_{k:07d}.jpg" for k in range(images)]
    archives = [
        zipfile.ZipFile(workdir / f"images_{z}.zip", "w", zipfile.ZIP_STORED) for z in range(zips)
    ]
    image_bytes = 0
    for k, name in enumerate(names):
        data = unique_jpeg(bases[k % len(bases)], k)
        image_bytes += len(data)
        (folder / name).write_bytes(data)
        if archives:
            archives[k * len(archives) // images].writestr(f"images/{name}", data)
    for archive in archives:
        archive.close()

    combos = [(mod, part) for mod, parts in MODALITIES.items() for part in parts]
    pools = [
        (mod, part, [paragraph(rng, mod, part, rng.randint(4, 8)) for _ in range(50)])
        for mod, part in combos
    ]
    cursor = 0
    rows = []
    path = workdir / FILE_NAME
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("[")
        for i in range(records):
            mod, part, answers = pools[rng.randrange(len(pools))]
            paths = []
            for _ in range(image_count(rng)):
                paths.append(f"images/{names[cursor % images]}")
                cursor += 1
            question, answer = rng.choice(DESCRIBE_QUESTIONS), rng.choice(answers)
            record = {
                "id": f"pmc_{i}",
                "image": paths,
                "conversations": [
                    {"from": "human", "value": question},
                    {"from": "gpt", "value": answer},
                ],
                "modality": mod,
                "body_part": part,
            }
            fh.write(("," if i else "") + "\n" + json.dumps(record))
            rows.append((record["id"], "\x1f".join(paths), question, answer, mod, part))
        fh.write("\n]\n")
    copy_text = workdir / "records.copy"
    with open(copy_text, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write("\t".join(copy_escape(v) for v in row) + "\n")
    return {
        "file": path,
        "file_bytes": path.stat().st_size,
        "image_bytes": image_bytes,
        "references": cursor,
        "copy_text": copy_text,
    }


def copy_escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


# --- The database ---------------------------------------------------------------------------


def _admin_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def recreate_database(url: str, *, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    admin_url, name = _admin_url(url)
    if not name or name in ("postgres", "template0", "template1"):
        sys.exit(f"refusing to drop the database {name!r}: give a bench database in the URL")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def empty_tables(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {IMPORT_TABLES} CASCADE")
        conn.execute("VACUUM ANALYZE")


# --- A settled page cache before each timed step --------------------------------------------


def dirty_mb() -> float:
    """Dirty + Writeback of /proc/meminfo, in MB: what the kernel has still to write."""
    kb = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith(("Dirty:", "Writeback:")):
                kb += int(line.split()[1])
    return kb / 1024


class Settle:
    """Called before each timed step: ``sync``, wait until Dirty + Writeback are below
    ``threshold_mb`` (at most ``timeout_s``), then drop the page cache if asked (root only)."""

    def __init__(self, threshold_mb: float, timeout_s: float, drop: bool, out=sys.stdout):
        self.threshold_mb, self.timeout_s, self.out = threshold_mb, timeout_s, out
        self.drop, self.drop_note = drop, "not asked (--drop-caches)"
        if drop and os.geteuid() != 0:
            self.drop, self.drop_note = False, "asked, but NOT done: not running as root"
        elif drop:
            self.drop_note = "dropped before each step (echo 3 > /proc/sys/vm/drop_caches)"
        self.waits: list[float] = []
        self.unsettled: list[str] = []

    def __call__(self, step: str) -> dict:
        started = time.perf_counter()
        os.sync()
        last_sync = started
        while (dirty := dirty_mb()) >= self.threshold_mb:
            now = time.perf_counter()
            if now - started >= self.timeout_s:
                break
            if now - last_sync >= 1:  # pages dirtied since (PostgreSQL, other processes)
                os.sync()
                last_sync = now
            time.sleep(0.05)
        info = {"step": step, "waited": time.perf_counter() - started, "dirty_mb": dirty}
        info["settled"] = dirty < self.threshold_mb
        if not info["settled"]:
            print(
                f"    {step}: the page cache did NOT settle: Dirty + Writeback {dirty:,.0f} MB"
                f" after {info['waited']:.0f} s (threshold {self.threshold_mb:,.0f} MB)",
                file=self.out,
                flush=True,
            )
        if self.drop:
            try:
                with open("/proc/sys/vm/drop_caches", "w") as fh:
                    fh.write("3\n")
            except OSError as exc:
                self.drop, self.drop_note = False, f"asked, but NOT done after a failure: {exc}"
                print(f"    could not drop the page cache: {exc}", file=self.out, flush=True)
        self.record(info)
        return info

    def record(self, info: dict) -> None:
        self.waits.append(info["waited"])
        if not info["settled"]:
            self.unsettled.append(info["step"])

    def describe(self) -> str:
        return (
            f"each timed step starts after sync and Dirty + Writeback < {self.threshold_mb:,.0f} MB"
            f" (waiting at most {self.timeout_s:.0f} s); page cache: {self.drop_note}"
        )

    def report(self) -> str:
        waits = self.waits or [0.0]
        line = (
            f"page cache: {len(self.waits)} timed steps, waits for write-back"
            f" {min(waits):.1f} to {max(waits):.1f} s; "
        )
        if self.unsettled:
            line += f"{len(self.unsettled)} did NOT settle: {', '.join(self.unsettled)}"
        else:
            line += "all settled"
        return line + f"; caches {self.drop_note}"


# --- The floors -----------------------------------------------------------------------------


def copy_floor(url: str, copy_text: Path, settle: Settle) -> float:
    """COPY of the records' text into a scratch table, in one transaction."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_scratch")
        conn.execute(
            "CREATE TABLE bench_scratch (id text, images text, question text, answer text,"
            " modality text, body_part text)"
        )
    settle("COPY of the text")
    started = time.perf_counter()
    with (
        psycopg.connect(url) as conn,
        conn.transaction(),
        conn.cursor() as cur,
        cur.copy("COPY bench_scratch FROM STDIN") as copy,
        open(copy_text, "rb") as fh,
    ):
        while block := fh.read(1 << 20):
            copy.write(block)
    seconds = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE bench_scratch")
    return seconds


def cp_floor(folder: Path, target: Path, settle: Settle) -> float:
    settle("cp -r")
    started = time.perf_counter()
    subprocess.run(["cp", "-r", str(folder), str(target)], check=True)
    seconds = time.perf_counter() - started
    shutil.rmtree(target)
    return seconds


def read_floor(folder: Path, settle: Settle) -> float:
    """Every image read once (``cat`` of the folder's files to /dev/null, one process): what an
    import that checks and hashes images already on disk must read, whatever it writes."""
    settle("read of the images")
    started = time.perf_counter()
    find = subprocess.Popen(["find", str(folder), "-type", "f", "-print0"], stdout=subprocess.PIPE)
    subprocess.run(["xargs", "-0", "cat"], stdin=find.stdout, stdout=subprocess.DEVNULL, check=True)
    find.stdout.close()
    find.wait()
    return time.perf_counter() - started


def repeated(measure, repeats: int) -> list[float]:
    return [measure() for _ in range(repeats)]


def spread(times: list[float]) -> str:
    """'median s (min .. max of n)': the median is what the ratios use."""
    return (
        f"{statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f},"
        f" of {len(times)})"
    )


# The tables the import writes, in load order (each after those it refers to), and whether the
# id column is COPYed: images and source pairs keep theirs (their links and items refer to
# them), links and items take theirs from their sequences, as in the import.
ROW_TABLES = (
    ("datasets_image", True),
    ("datasets_sourcepair", True),
    ("datasets_sourcepairimage", False),
    ("datasets_item", False),
)
IMPORT_TABLES = (
    "datasets_item, datasets_sourcepairimage, datasets_sourcepair, datasets_image, datasets_dataset"
)


def _columns(cur, table: str, keep_id: bool):
    from psycopg import sql

    cur.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
        [table],
    )
    names = [name for (name,) in cur.fetchall() if keep_id or name != "id"]
    return sql.SQL(", ").join(map(sql.Identifier, names))


def export_rows(url: str, folder: Path) -> dict[str, int]:
    """The rows the import just wrote (and its dataset row), as COPY text files in ``folder``.
    Returns the number of rows of each table."""
    import psycopg
    from psycopg import sql

    folder.mkdir(parents=True)
    counts = {}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for table, keep_id in (("datasets_dataset", True), *ROW_TABLES):
            export = sql.SQL("COPY (SELECT {} FROM {} ORDER BY id) TO STDOUT").format(
                _columns(cur, table, keep_id), sql.Identifier(table)
            )
            rows = 0
            with open(folder / f"{table}.copy", "wb") as fh, cur.copy(export) as copy:
                for data in copy:
                    fh.write(data)
                    rows += bytes(data).count(b"\n")
            counts[table] = rows
    return counts


def rows_floor(url: str, folder: Path, settle: Settle) -> float:
    """The import's own rows COPYed back into the real tables (emptied, vacuumed, its dataset
    row put back first, untimed), all tables in one transaction."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {IMPORT_TABLES} CASCADE")
        with conn.cursor() as cur:
            load = sql.SQL("COPY datasets_dataset ({}) FROM STDIN").format(
                _columns(cur, "datasets_dataset", True)
            )
            with cur.copy(load) as copy:
                copy.write((folder / "datasets_dataset.copy").read_bytes())
            loads = [
                (
                    sql.SQL("COPY {} ({}) FROM STDIN").format(
                        sql.Identifier(table), _columns(cur, table, keep_id)
                    ),
                    folder / f"{table}.copy",
                )
                for table, keep_id in ROW_TABLES
            ]
        conn.execute("VACUUM ANALYZE")
    settle("COPY of the import's rows")
    started = time.perf_counter()
    with psycopg.connect(url) as conn, conn.transaction(), conn.cursor() as cur:
        for load, path in loads:
            with open(path, "rb") as fh, cur.copy(load) as copy:
                while block := fh.read(1 << 20):
                    copy.write(block)
    return time.perf_counter() - started


# --- One import, in a child process ---------------------------------------------------------


def child(args) -> int:
    """Run in the child: start Django, settle the page cache, then time one import and print
    its summary (and how the page cache settled) as JSON."""
    import django

    django.setup()
    from audit.datasets.services import dataset_import

    settle = Settle(args.settle_mb, args.settle_timeout, args.drop_caches, out=sys.stderr)
    extra = {"image_mode": args.image_mode} if args.image_mode != "copy" else {}
    settled = settle(f"import ({args.image_mode})")
    started = time.perf_counter()
    summary = dataset_import(
        path=Path(args.child),
        dataset_name="bench",
        image_sources=[Path(p) for p in args.sources],
        **extra,
    )
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "summary": summary.as_dict(), "settle": settled}))
    return 0


def run_import(
    path: Path, sources: list[Path], image_mode: str, env: dict, settle: Settle
) -> tuple[float, float, dict]:
    """(seconds, peak RSS MB, summary) of one import in a child process."""
    command = [sys.executable, __file__, "--child", str(path), "--image-mode", image_mode]
    command += ["--settle-mb", str(settle.threshold_mb), "--settle-timeout", str(settle.timeout_s)]
    command += ["--drop-caches"] if settle.drop else []
    command += ["--sources", *map(str, sources)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    tree_peak = [0.0]
    sampler = threading.Thread(target=_sample_tree_pss, args=(proc.pid, tree_peak), daemon=True)
    sampler.start()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"the import failed ({image_mode}): {out[-2000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    settle.record(result["settle"])
    # The larger of the child's peak RSS and the peak PSS of it with its image worker processes
    # (forked: RSS would count their shared pages once per process).
    return result["seconds"], max(usage.ru_maxrss / 1024, tree_peak[0]), result["summary"]


def _tree(pid: int) -> list[int]:
    out = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
            for child in children:
                out += _tree(int(child))
    except OSError:
        pass
    return out


def _sample_tree_pss(pid: int, peak: list[float]) -> None:
    """Every 50 ms while ``pid`` lives: the PSS (MB) of it and its descendants; the peak."""
    while os.path.exists(f"/proc/{pid}/task"):
        total = 0
        for member in _tree(pid):
            try:
                for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
            except OSError:
                continue
        peak[0] = max(peak[0], total / 1024)
        time.sleep(0.05)


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- Main -----------------------------------------------------------------------------------

# The rows an import writes, by mode: the copying imports and --link write the same rows (the
# files are in the store either way), --in-place records where each file is, records-only no
# image at all. The rows floor is measured once per kind.
ROW_KINDS = {
    "records-only": "records-only",
    "folder": "stored",
    "zips": "stored",
    "link": "stored",
    "in-place": "in-place",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--images", type=int, default=14_000)
    parser.add_argument("--zips", type=int, default=4)
    parser.add_argument("--modes", default=",".join(MODES), help="any of " + ", ".join(MODES))
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/audit_bench_import"
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp"))
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument(
        "--floor-repeats",
        type=int,
        default=3,
        help="times each floor is measured, before and after the imports (the median is used)",
    )
    parser.add_argument(
        "--settle-mb",
        type=float,
        default=32,
        help="before each timed step, wait until Dirty + Writeback are below this (MB)",
    )
    parser.add_argument(
        "--settle-timeout", type=float, default=120, help="the longest such wait (s)"
    )
    parser.add_argument(
        "--drop-caches",
        action="store_true",
        help="drop the page cache before each timed step (root only): every step reads cold",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--image-mode", default="copy", help=argparse.SUPPRESS)
    parser.add_argument("--sources", nargs="*", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    modes = [m for m in args.modes.split(",") if m]
    if unknown := set(modes) - set(MODES):
        sys.exit(f"unknown modes {unknown}: choose from {', '.join(MODES)}")
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("the benchmark measures the PostgreSQL (COPY) path: give a postgres:// URL")
    if args.floor_repeats < 1:
        sys.exit("--floor-repeats must be at least 1")

    workdir = Path(tempfile.mkdtemp(prefix="import-images-bench-", dir=args.workdir))
    store = workdir / "store"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "audit.settings",
        "DATABASE_URL": args.database_url,
        "AUDIT_VAR_DIR": str(workdir / "var"),
        "AUDIT_IMAGE_STORE": str(store),
        "AUDIT_IMAGE_ROOTS": f"bench={workdir / 'src'}",
    }
    os.environ.update(env)
    settle = Settle(args.settle_mb, args.settle_timeout, args.drop_caches)
    repeats = args.floor_repeats
    created_db = False
    failed = False
    try:
        print(f"generating {args.records:,} records and {args.images:,} images in {workdir} ...")
        t0 = time.perf_counter()
        data = generate(workdir, args.records, args.images, args.zips)
        print(
            f"  {data['file_bytes'] / 1e6:,.1f} MB of records ({data['references']:,} image"
            f" references), {data['image_bytes'] / 1e9:,.2f} GB of images"
            f" ({data['image_bytes'] / args.images / 1e3:,.0f} KB each) in a folder and"
            f" {args.zips} zips; {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        recreate_database(args.database_url)
        created_db = True
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"], env=env, check=True
        )
        store.mkdir()
        print(f"database recreated and migrated; {os.cpu_count()} CPUs; {load()}")
        print(settle.describe(), flush=True)

        # The floor before and after the imports, each the median of --floor-repeats runs, and
        # the mean of both: the machine's load moves during a run of several minutes (a shared
        # machine), and both ends see it.
        def floor_text(when: str) -> tuple[float, float]:
            cp_times = repeated(
                lambda: cp_floor(workdir / "src" / "images", store / "floor-copy", settle), repeats
            )
            copy_times = repeated(
                lambda: copy_floor(args.database_url, data["copy_text"], settle), repeats
            )
            cp_m, copy_m = statistics.median(cp_times), statistics.median(copy_times)
            print(
                f"floor {when}: cp -r {spread(cp_times)} + COPY of the records' text"
                f" {spread(copy_times)} = {cp_m + copy_m:.2f} s   ({load()})",
                flush=True,
            )
            read_m = 0.0
            if {"link", "in-place"} & set(modes):
                read_times = repeated(
                    lambda: read_floor(workdir / "src" / "images", settle), repeats
                )
                read_m = statistics.median(read_times)
                print(f"  read of the images once (cat): {spread(read_times)}", flush=True)
            return cp_m, copy_m, read_m

        cp_before, copy_before, read_before = floor_text("before")
        results = []
        row_files: dict[str, Path] = {}
        folder = workdir / "src"
        zips = sorted(workdir.glob("images_*.zip"))
        runs = {
            "records-only": ("copy", [], "COPY"),
            "folder": ("copy", [folder], "cp + COPY"),
            "zips": ("copy", zips, "cp + COPY"),
            "link": ("link", [folder], "COPY"),
            "in-place": ("in_place", [folder], "COPY"),
        }
        for mode in modes:
            image_mode, sources, _ = runs[mode]
            empty_tables(args.database_url)
            shutil.rmtree(store)
            store.mkdir()
            seconds, rss, summary = run_import(data["file"], sources, image_mode, env, settle)
            results.append((mode, seconds, rss, summary, load()))
            print(f"  {mode}: {seconds:.2f} s ({load()})", flush=True)
            kind = ROW_KINDS[mode]
            if kind not in row_files:
                row_files[kind] = workdir / "rows" / kind
                counts = export_rows(args.database_url, row_files[kind])
                print(
                    f"    its rows kept for the rows floor ({kind}): "
                    + ", ".join(
                        f"{table.removeprefix('datasets_')} {n:,}"
                        for table, n in counts.items()
                        if table != "datasets_dataset"
                    ),
                    flush=True,
                )
        cp_after, copy_after, read_after = floor_text("after")
        rows_times = {}
        for kind, files in row_files.items():
            rows_times[kind] = repeated(
                lambda files=files: rows_floor(args.database_url, files, settle), repeats
            )
            print(
                f"floor of the import's own rows ({kind}), COPYed into the real tables in one"
                f" transaction: {spread(rows_times[kind])}   ({load()})",
                flush=True,
            )
        cp_s, copy_s = (cp_before + cp_after) / 2, (copy_before + copy_after) / 2
        read_s = (read_before + read_after) / 2
        floors = {"cp + COPY": cp_s + copy_s, "COPY": copy_s}

        print(
            f"\nthe issue's floors (cp -r + COPY of the records' text; the mean of the medians"
            f" before and after):\n{'import':<12} {'seconds':>8} {'records/s':>10}"
            f" {'floor (mean)':>18} {'ratio':>6} {'peak RSS':>9}  verdict"
        )
        for mode, seconds, rss, summary, when in results:
            floor_name = runs[mode][2]
            mode_floor = floors[floor_name]
            ratio = seconds / mode_floor
            ok = ratio <= TARGET_RATIO and rss <= TARGET_RSS_MB
            if mode != "records-only":
                failed |= not ok
            verdict = "reference" if mode == "records-only" else "meets" if ok else "MISSES"
            print(
                f"{mode:<12} {seconds:>8.2f} {summary['records'] / seconds:>10,.0f}"
                f" {mode_floor:>6.2f} s {floor_name:<9} {ratio:>6.2f} {rss:>6,.0f} MB "
                f" {verdict} (<= {TARGET_RATIO}x, <= {TARGET_RSS_MB} MB);"
                f" images {summary['images_stored']:,}, linked {summary['images_linked']:,};"
                f" {when}",
                flush=True,
            )

        print(
            "\nagainst the import's own rows COPYed into the real tables (median), beside the"
            " COPY of the text (the issue's floor for --link/--in-place); and against their"
            " files + their rows: copying imports cp -r + rows, --link/--in-place the read of"
            " every image once (cat; content addressing hashes each) + rows:"
        )
        print(
            f"{'import':<12} {'seconds':>8} {'own rows':>9} {'ratio':>6} {'text COPY':>10}"
            f" {'ratio':>6} {'files+rows':>10} {'ratio':>6}"
        )
        for mode, seconds, _rss, _summary, _when in results:
            rows_s = statistics.median(rows_times[ROW_KINDS[mode]])
            line = (
                f"{mode:<12} {seconds:>8.2f} {rows_s:>7.2f} s {seconds / rows_s:>6.2f}"
                f" {copy_s:>8.2f} s {seconds / copy_s:>6.2f}"
            )
            files = (
                cp_s if runs[mode][2] == "cp + COPY" else read_s if mode != "records-only" else 0
            )
            if files:
                line += f" {files + rows_s:>8.2f} s {seconds / (files + rows_s):>6.2f}"
            else:
                line += f" {'-':>10} {'-':>6}"
            print(line)
        print(settle.report(), flush=True)
        return 1 if failed else 0
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        if created_db:
            try:
                recreate_database(args.database_url, drop_only=True)
            except Exception as exc:
                print(f"could not drop the bench database: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
