"""Drop the single-column indexes of four foreign keys: a composite index starting with the same column
(billingkey_owner_created, event_key_created, payment_key_created, payment_owner_created) serves every
look-up they served, and each extra index costs every insert and every non-HOT update.

Only the indexes are dropped. AlterField alone would also drop and re-add each foreign-key constraint,
which re-validates every row under an exclusive lock: minutes on a table of millions of keys.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (table, column, the index Django named for it in 0001)
INDEXES = [
    ("billing_billingkey", "owner_id", "billing_billingkey_owner_id_a555fead"),
    ("billing_billingkeyevent", "billing_key_id", "billing_billingkeyevent_billing_key_id_0c6b10a0"),
    ("billing_payment", "billing_key_id", "billing_payment_billing_key_id_a4531abc"),
    ("billing_payment", "owner_id", "billing_payment_owner_id_50396bdc"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0004_user_email_search_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"', reverse_sql=f'CREATE INDEX "{name}" ON "{table}" ("{column}")'
                )
                for table, column, name in INDEXES
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="billingkey",
                    name="owner",
                    field=models.ForeignKey(
                        db_index=False,
                        help_text="The customer whose card this is. Never changes.",
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="billing_keys",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="billingkeyevent",
                    name="billing_key",
                    field=models.ForeignKey(
                        db_index=False,
                        help_text="The key the call was about.",
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="billing.billingkey",
                    ),
                ),
                migrations.AlterField(
                    model_name="payment",
                    name="billing_key",
                    field=models.ForeignKey(
                        db_index=False,
                        help_text="The card charged.",
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payments",
                        to="billing.billingkey",
                    ),
                ),
                migrations.AlterField(
                    model_name="payment",
                    name="owner",
                    field=models.ForeignKey(
                        db_index=False,
                        help_text="Who pays.",
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payments",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        )
    ]
