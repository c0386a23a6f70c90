import django.db.models.deletion
from django.db import migrations, models

# Only the index goes: AlterField would also drop and re-add (re-validate) the foreign key.
INDEX = "annotations_score_rating_id_26fc9a0e"


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0002_rating_method_guess"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="score",
                    name="rating",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="scores",
                        to="annotations.rating",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX "{INDEX}" ON "annotations_score" ("rating_id")',
                ),
            ],
        ),
    ]
