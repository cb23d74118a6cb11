"""Set-up steps that need Django, run by ``benchmarks/run.py`` as subprocesses with the site's environment.

    python benchmarks/django_tasks.py users --count 200 --password PW     -> JSON {username: token} on stdout
    python benchmarks/django_tasks.py list-user --username NAME --cards 20 --password PW  -> JSON tokens

The million keys themselves come from ``manage.py seed_billing_keys``.
"""

import argparse
import json
import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "merchant_site.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from billing.models import BillingKey  # noqa: E402

User = get_user_model()


def make_users(usernames: list[str], password: str) -> dict[str, str]:
    """Users with that password (hashed once) and a DRF token each: {username: token}."""
    hashed = make_password(password)
    existing = set(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    User.objects.bulk_create(
        [User(username=name, password=hashed) for name in usernames if name not in existing], batch_size=1000
    )
    users = list(User.objects.filter(username__in=usernames))
    User.objects.filter(pk__in=[u.pk for u in users]).update(password=hashed)
    have = set(Token.objects.filter(user__in=users).values_list("user_id", flat=True))
    Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in users if u.pk not in have])
    return dict(Token.objects.filter(user__in=users).values_list("user__username", "key"))


def cmd_users(args) -> None:
    names = [f"{args.prefix}{i:05d}" for i in range(args.count)]
    tokens = make_users(names, args.password)
    staff = make_users([f"{args.prefix}staff"], args.password)
    staff_user = User.objects.get(username=f"{args.prefix}staff")
    staff_user.is_staff = True
    staff_user.save(update_fields=["is_staff"])
    staff_user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="billing", codename__startswith="view_")
    )
    json.dump({"users": tokens, "staff": staff}, sys.stdout)


def cmd_list_user(args) -> None:
    """The customer whose lists are measured at scale: ``--cards`` keys of their own, most of them active.

    The million other keys come from ``manage.py seed_billing_keys`` (owners ``seed_owner_NNNNNN``).
    """
    heavy = User.objects.filter(username__startswith="seed_owner_").order_by("pk").first()
    names = [args.username] + ([heavy.username] if heavy else [])
    tokens = make_users(names, args.password)
    owner = User.objects.get(username=args.username)
    missing = args.cards - BillingKey.objects.filter(owner=owner).count()
    now = timezone.now()
    statuses = [BillingKey.Status.ACTIVE] * 8 + [BillingKey.Status.FAILED, BillingKey.Status.DELETED]
    BillingKey.objects.bulk_create(
        [
            BillingKey(
                owner=owner,
                customer_uid=f"cu_{secrets.token_hex(16)}",
                status=statuses[i % len(statuses)],
                pg_provider="nice",
                card_name="국민KB카드",
                card_code="381",
                masked_card_number=f"424242******{i:04d}",
                card_type=0,
                synced_at=now,
            )
            for i in range(max(0, missing))
        ]
    )
    json.dump(
        {
            "list_user": args.username,
            "list_user_token": tokens[args.username],
            "heavy_owner": heavy.username if heavy else None,
            "heavy_owner_token": tokens.get(heavy.username) if heavy else None,
            "heavy_owner_keys": BillingKey.objects.filter(owner=heavy).count() if heavy else 0,
        },
        sys.stdout,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    users = sub.add_parser("users")
    users.add_argument("--count", type=int, required=True)
    users.add_argument("--prefix", default="bench_")
    users.add_argument("--password", required=True)
    list_user = sub.add_parser("list-user")
    list_user.add_argument("--username", required=True)
    list_user.add_argument("--cards", type=int, default=20)
    list_user.add_argument("--password", required=True)
    args = parser.parse_args()
    {"users": cmd_users, "list-user": cmd_list_user}[args.command](args)


if __name__ == "__main__":
    main()
