"""The audit trail keeps a plain campaign id instead of a foreign key to campaigns.Campaign.

The column (campaign_id) and its values stay as they are: the foreign key becomes a big integer
on the same column, the field is renamed to match, and the (campaign, -created_at) index is
rebuilt on the renamed field. Events of a campaign deleted later keep its id.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="auditevent", name="core_audite_campaig_3a3901_idx"),
        # Drops the foreign key constraint; the column keeps its name and values.
        migrations.AlterField(
            model_name="auditevent",
            name="campaign",
            field=models.BigIntegerField(blank=True, null=True, db_column="campaign_id"),
        ),
        migrations.RenameField(
            model_name="auditevent", old_name="campaign", new_name="campaign_id"
        ),
        # The default column of a field named campaign_id is campaign_id: nothing moves.
        migrations.AlterField(
            model_name="auditevent",
            name="campaign_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                fields=["campaign_id", "-created_at"], name="core_audite_campaig_3a3901_idx"
            ),
        ),
    ]
