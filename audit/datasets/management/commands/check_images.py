"""python manage.py check_images [--all] [--hash] [--dataset NAME]"""

from django.core.management.base import BaseCommand, CommandError

from audit.datasets.selectors import images_check


class Command(BaseCommand):
    help = (
        "Check that the images imported in place (--in-place) are still there, unchanged: "
        "each file's size, and with --hash its sha256. --all checks the image store's files "
        "too. Lists each missing or changed file; exit code 1 when there is one."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--all", action="store_true", help="Also the images in the image store."
        )
        parser.add_argument(
            "--hash", action="store_true", help="Read every file and compare its sha256."
        )
        parser.add_argument("--dataset", help="Only the images of this dataset's items.")

    def handle(self, *args, **opts):
        report = images_check(
            stored_too=opts["all"], full_hash=opts["hash"], dataset_name=opts["dataset"]
        )
        for problem in report.problems:
            self.stdout.write(f"  {problem}")
        self.stdout.write(
            f"{report.checked:,} images checked ({'sha256' if opts['hash'] else 'size'}): "
            f"{len(report.problems):,} missing or changed."
        )
        if report.problems:
            raise CommandError(f"{len(report.problems):,} image(s) missing or changed; see above.")
