"""An index on ``UPPER(email)`` of the user table, for the admin's case-insensitive search by email.

Django's ``email__iexact`` compiles to ``UPPER(email::text) = UPPER(%s)`` on PostgreSQL, which this
index serves; without it, finding a customer by email reads the whole user table. The user model
belongs to django.contrib.auth, so the index is created here, by name, with raw SQL. On PostgreSQL it
is built ``CONCURRENTLY`` (no write lock on the users table), hence ``atomic = False``.
"""

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import migrations

INDEX = "billing_user_email_upper"


def create_index(apps, schema_editor):
    connection = schema_editor.connection
    User = apps.get_model(settings.AUTH_USER_MODEL)
    try:
        email = User._meta.get_field("email")
    except FieldDoesNotExist:  # a custom user model without an email: nothing to search by
        return
    table = schema_editor.quote_name(User._meta.db_table)
    column = schema_editor.quote_name(email.column)
    concurrently = "CONCURRENTLY " if connection.vendor == "postgresql" else ""
    schema_editor.execute(f"CREATE INDEX {concurrently}IF NOT EXISTS {INDEX} ON {table} (UPPER({column}))")


def drop_index(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("billing", "0003_admin_indexes"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
