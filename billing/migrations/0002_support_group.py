"""The "Support" group: support staff read billing keys, their audit events and payments, and re-sync keys.

Deleting a key at i'mport (``delete_at_iamport_billingkey``) and refunding (``refund_payment``) are
deliberately left out: grant them to individual staff members, or to a group of their own.
Permissions are normally created after ``migrate`` finishes, so this migration creates them first.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Support"
PERMISSIONS = [
    "view_billingkey",
    "view_billingkeyevent",
    "view_payment",
    "view_paymentrefund",
    "view_webhookdelivery",
    "sync_billingkey",
]


def create_support_group(apps, schema_editor):
    billing = apps.get_app_config("billing")
    billing.models_module = True
    create_permissions(billing, apps=apps, verbosity=0, using=schema_editor.connection.alias)
    billing.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(schema_editor.connection.alias).get_or_create(name=GROUP)
    permissions = Permission.objects.using(schema_editor.connection.alias).filter(
        content_type__app_label="billing", codename__in=PERMISSIONS
    )
    if permissions.count() != len(PERMISSIONS):
        raise RuntimeError("billing permissions missing; cannot create the Support group")
    group.permissions.add(*permissions)


def delete_support_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("billing", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_support_group, delete_support_group)]
