"""The construction methods of the PubMedVision paper (HuatuoGPT-Vision, EMNLP 2024)."""

from django.db import migrations

from audit.datasets.builtin import BUILTIN_METHODS, ensure_builtin_methods


def create_methods(apps, schema_editor):
    ensure_builtin_methods(apps.get_model("datasets", "Method"))


def remove_methods(apps, schema_editor):
    Method = apps.get_model("datasets", "Method")
    Method.objects.filter(key__in=[m["key"] for m in BUILTIN_METHODS], items__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("datasets", "0001_initial")]
    operations = [migrations.RunPython(create_methods, remove_methods)]
