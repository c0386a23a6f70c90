"""Register the hourly clean-up of import uploads (datasets.clean_uploads) with
django-celery-beat: the files of failed jobs past AUDIT_UPLOAD_KEEP_HOURS, and any folder no job
needs (a succeeded job's files are deleted when it ends)."""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "Delete old import uploads"


def add_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    interval, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": "datasets.clean_uploads",
            "interval": interval,
            "crontab": None,
            "solar": None,
            "clocked": None,
            "args": "[]",
            "kwargs": "{}",
            "queue": None,  # the task names its queue (io)
            "enabled": True,
            "description": "Delete the uploaded files of failed import jobs once "
            "AUDIT_UPLOAD_KEEP_HOURS have passed, and upload folders no job needs.",
        },
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("datasets", "0005_source_pair_owner_scope"),
        ("django_celery_beat", "0018_improve_crontab_helptext"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
