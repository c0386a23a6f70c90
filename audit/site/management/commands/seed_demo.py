from django.core.management.base import BaseCommand

from audit.site.demo import seed_demo


class Command(BaseCommand):
    help = "Create the demo accounts and the synthetic demo dataset (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--pairs", type=int, default=120)

    def handle(self, *args, **opts):
        seed_demo(n_pairs=opts["pairs"], log=self.stdout.write)
