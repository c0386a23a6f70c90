"""Import with images: PubMedVision-schema records and their JPEGs, against the floor of copying
the images with ``cp -r`` and COPYing the records' text, measured in the same run.

    .venv/bin/python benchmarks/import_images.py [--records 20000] [--images 14000]
        [--zips 4] [--modes folder,zips,link,in-place]
        [--database-url postgres://postgres@127.0.0.1:5432/audit_bench_import] [--workdir /tmp]

Generates under a fresh folder in ``--workdir``: ``PubMedVision_Alignment_VQA.json`` (the real
schema; 1 to 3 images per record, 75% one, naming the images in turn so that each is used by
one or more records) and the images as random-noise JPEGs of about 100 KB (real sizes: noise
does not compress), each different (its own comment segment), in a folder ``images/`` and in
``--zips`` stored zip files ``images_N.zip`` (like PubMedVision's). The image store is on the
same filesystem.

Then, on a recreated and migrated database:

floor     ``cp -r`` of the image folder into a scratch folder next to the store, plus COPY of
          the records' text (id, image paths, question, answer, modality, body part: one row a
          record) into a scratch table, in one transaction; ``sync`` before each timed step.
imports   ``dataset_import`` in a child process (Django started before the clock), each on an
          emptied database and store: images from the folder, from the zips (both copied into
          the store), with ``link`` (hard links from the folder) and ``in_place`` (the folder
          is an image root: nothing copied). Peak RSS is the child's (``wait4``), Django
          included. ``records-only`` (no ``--images``: the records without their images) is
          the import's own part, for reference: what the image pipeline adds is the rest.

Targets (issue 17): a copying import <= 1.25x (cp + COPY); link and in-place <= 1.25x the COPY
alone; peak RSS <= 1 GB. Generated data, the store and the database are deleted at the end.
"""

import argparse
import io
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
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
        conn.execute(
            "TRUNCATE datasets_item, datasets_sourcepairimage, datasets_sourcepair,"
            " datasets_image, datasets_dataset CASCADE"
        )
        conn.execute("VACUUM ANALYZE")


def copy_floor(url: str, copy_text: Path) -> float:
    """COPY of the records' text into a scratch table, in one transaction."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_scratch")
        conn.execute(
            "CREATE TABLE bench_scratch (id text, images text, question text, answer text,"
            " modality text, body_part text)"
        )
    subprocess.run(["sync"], check=True)
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


def cp_floor(folder: Path, target: Path) -> float:
    subprocess.run(["sync"], check=True)
    started = time.perf_counter()
    subprocess.run(["cp", "-r", str(folder), str(target)], check=True)
    seconds = time.perf_counter() - started
    shutil.rmtree(target)
    return seconds


# --- One import, in a child process ---------------------------------------------------------


def child(args) -> int:
    """Run in the child: start Django, then time one import and print its summary as JSON."""
    import django

    django.setup()
    from audit.datasets.services import dataset_import

    extra = {"image_mode": args.image_mode} if args.image_mode != "copy" else {}
    started = time.perf_counter()
    summary = dataset_import(
        path=Path(args.child),
        dataset_name="bench",
        image_sources=[Path(p) for p in args.sources],
        **extra,
    )
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "summary": summary.as_dict()}))
    return 0


def run_import(
    path: Path, sources: list[Path], image_mode: str, env: dict
) -> tuple[float, float, dict]:
    """(seconds, peak RSS MB, summary) of one import in a child process."""
    command = [sys.executable, __file__, "--child", str(path), "--image-mode", image_mode]
    command += ["--sources", *map(str, sources)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"the import failed ({image_mode}): {out[-2000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    return result["seconds"], usage.ru_maxrss / 1024, result["summary"]


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- Main -----------------------------------------------------------------------------------


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

        # The floor before and after the imports, and their mean: the machine's load moves
        # during a run of several minutes (a shared machine), and both ends see it.
        cp_s = cp_floor(workdir / "src" / "images", store / "floor-copy")
        copy_s = copy_floor(args.database_url, data["copy_text"])
        floor = cp_s + copy_s
        print(
            f"floor before: cp -r {cp_s:.2f} s + COPY of the records' text {copy_s:.2f} s"
            f" = {floor:.2f} s   ({load()})",
            flush=True,
        )
        results = []
        folder = workdir / "src"
        zips = sorted(workdir.glob("images_*.zip"))
        runs = {
            "records-only": ("copy", [], copy_s, "COPY"),
            "folder": ("copy", [folder], floor, "cp + COPY"),
            "zips": ("copy", zips, floor, "cp + COPY"),
            "link": ("link", [folder], copy_s, "COPY"),
            "in-place": ("in_place", [folder], copy_s, "COPY"),
        }
        for mode in modes:
            image_mode, sources, _, _ = runs[mode]
            empty_tables(args.database_url)
            shutil.rmtree(store)
            store.mkdir()
            subprocess.run(["sync"], check=True)
            seconds, rss, summary = run_import(data["file"], sources, image_mode, env)
            results.append((mode, seconds, rss, summary, load()))
            print(f"  {mode}: {seconds:.2f} s ({load()})", flush=True)
        cp_after = cp_floor(workdir / "src" / "images", store / "floor-copy")
        copy_after = copy_floor(args.database_url, data["copy_text"])
        print(
            f"floor after: cp -r {cp_after:.2f} s + COPY of the records' text {copy_after:.2f} s"
            f" = {cp_after + copy_after:.2f} s   ({load()})"
        )
        cp_s, copy_s = (cp_s + cp_after) / 2, (copy_s + copy_after) / 2
        floors = {"cp + COPY": cp_s + copy_s, "COPY": copy_s}
        print(
            f"{'import':<12} {'seconds':>8} {'records/s':>10} {'floor (mean)':>18} {'ratio':>6}"
            f" {'peak RSS':>9}  verdict"
        )
        for mode, seconds, rss, summary, when in results:
            floor_name = runs[mode][3]
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
