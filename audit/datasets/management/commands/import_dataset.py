"""python manage.py import_dataset PATH --dataset NAME [--owner USERNAME] [--format ...]
[--images DIR_OR_ZIP ...] [--link | --in-place]"""

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from audit.datasets.errors import ImportFailed
from audit.datasets.importers.formats import FORMATS
from audit.datasets.services import dataset_import


def _column_map(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field or not column:
            raise CommandError(f"--map expects FIELD=COLUMN, got {pair!r}")
        mapping[field.strip()] = column.strip()
    return mapping


class Command(BaseCommand):
    help = (
        "Import a VQA dataset file (PubMedVision, LLaVA, GMAI-VL, JSONL or CSV) and its images. "
        "All-or-nothing unless --skip-invalid. Exit code 0: imported; 1: failed, nothing imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--dataset", required=True, help="Dataset name (created if new).")
        parser.add_argument(
            "--owner",
            metavar="USERNAME",
            help="Import as this user: a new dataset is theirs, an existing one must be theirs "
            "(any, for a superuser). Without it the import runs as the operator: into any "
            "dataset (its source pairs stay in its owner's scope), a new one without owner.",
        )
        parser.add_argument("--format", default="auto", choices=["auto", *FORMATS])
        parser.add_argument(
            "--images",
            nargs="+",
            type=Path,
            default=[],
            metavar="DIR_OR_ZIP",
            help="Folders or zips holding the images.",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--link",
            action="store_true",
            help="Hard-link image files from the --images folders into the image store instead "
            "of copying them (they must not be changed in place afterwards); copies, with a "
            "message, when the folders are on another filesystem. Zip members are copied.",
        )
        mode.add_argument(
            "--in-place",
            action="store_true",
            help="Copy nothing: record where each image lives under a read-only image root "
            "(AUDIT_IMAGE_ROOTS); the --images folders must be inside one. A file that later "
            "goes missing or changes is reported when served and by check_images.",
        )
        parser.add_argument("--method", help="Construction method key of the items.")
        parser.add_argument(
            "--kind",
            choices=["vqa", "alignment", "instruction"],
            help="Item kind (PubMedVision: guessed from the file name).",
        )
        parser.add_argument("--language", default="en")
        parser.add_argument(
            "--map",
            nargs="+",
            default=[],
            metavar="FIELD=COLUMN",
            help="Generic JSONL/CSV: which column holds id, image, question, "
            "answer, modality, body_part, caption, context, method.",
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Import valid records; write rejects with reasons to a file.",
        )
        parser.add_argument("--rejects", type=Path, help="Where to write rejects (JSONL).")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        path: Path = opts["path"]
        owner = None
        if opts["owner"]:
            owner = get_user_model().objects.filter(username=opts["owner"]).first()
            if owner is None or not owner.is_active:
                raise CommandError(f"--owner: no active user named {opts['owner']!r}")
        show = not opts["no_progress"] and sys.stderr.isatty()
        bar = tqdm(
            total=path.stat().st_size if path.is_file() else 0,
            unit="B",
            unit_scale=True,
            desc="importing",
            disable=not show,
            file=sys.stderr,
        )

        def progress(records: int, done: int, total: int) -> None:
            bar.update(done - bar.n)
            bar.set_postfix(records=f"{records:,}", refresh=False)

        try:
            summary = dataset_import(
                path=path,
                dataset_name=opts["dataset"],
                fmt=opts["format"],
                method_key=opts["method"],
                image_sources=opts["images"],
                skip_invalid=opts["skip_invalid"],
                rejects_path=opts["rejects"],
                kind=opts["kind"],
                language=opts["language"],
                column_map=_column_map(opts["map"]),
                owner=owner,
                progress=progress,
                image_mode="link" if opts["link"] else "in_place" if opts["in_place"] else "copy",
            )
        except ImportFailed as exc:
            bar.close()
            self.stderr.write(self.style.ERROR("Import failed; nothing was imported."))
            for problem in exc.problems:
                self.stderr.write(f"  {problem}")
            raise CommandError(f"{len(exc.problems)} problem(s); see above.") from None
        bar.close()
        s = summary
        self.stdout.write(self.style.SUCCESS(f"Imported into dataset {s.dataset!r} ({s.format})."))
        rows = [
            ("records read", s.records, ""),
            ("items created", s.items_created, f"duplicates skipped {s.items_duplicate:,}"),
            ("source pairs new", s.source_pairs_created, f"existing {s.source_pairs_reused:,}"),
            (
                "images stored",
                s.images_stored,
                f"already stored {s.images_reused:,}, "
                f"referenced without a file {s.images_without_file:,}",
            ),
            ("rejects", s.rejects, f"written to {s.rejects_path}" if s.rejects_path else ""),
        ]
        if s.image_mode == "link":
            rows.append(("images linked", s.images_linked, "hard links into the image store"))
        elif s.image_mode == "in_place":
            rows.append(("images in place", s.images_stored, "read from their image root"))
        for label, value, extra in rows:
            self.stdout.write(f"  {label:<17} {value:>10,}   {extra}".rstrip())
        for note in s.notes:
            self.stdout.write(self.style.WARNING(f"  note: {note}"))
        rate = f"   ({s.records / s.seconds:,.0f} records/s)" if s.seconds else ""
        self.stdout.write(f"  {'time':<17} {s.seconds:>10.1f} s{rate}")
