"""Insert synthetic billing keys (and the users who own them) to measure the admin and the API at scale.

    python manage.py seed_billing_keys --count 1000000 --owners 5000

Rows look like real ones (random ``cu_`` ids, masked card numbers, most keys active, some failed with
i'mport's messages) and are spread over the last two years. Owners are ``seed_owner_NNNNNN`` with
``Seed.Owner.NNNNNN@Example.com`` (mixed case on purpose: email search ignores case); they are reused
when the command runs again, and cannot sign in. No i'mport call is made: these keys exist only here.
On PostgreSQL the rows go in with ``COPY`` (a million in about a minute and a half here) and the table is
``VACUUM ANALYZE``d afterwards (as autovacuum would) so the planner knows its size.
"""

import datetime
import json
import random
import secrets
import time
from collections.abc import Iterator

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from billing.models import BillingKey

Status = BillingKey.Status
# (status, share): most keys are active; the rest are what support staff get asked about.
STATUS_MIX = [
    (Status.ACTIVE, 85),
    (Status.FAILED, 8),
    (Status.DELETED, 4),
    (Status.PENDING, 2),
    (Status.UNKNOWN, 1),
]
PGS = [("nice", "nictest04m"), ("html5_inicis", "INIBillTst"), ("kcp", "T0000"), ("tosspayments", "tosstest")]
CARDS = [
    ("국민KB카드", "381"),
    ("신한카드", "366"),
    ("삼성카드", "365"),
    ("현대카드", "367"),
    ("BC카드", "361"),
]
REFUSALS = [
    (-1, "카드가 거절되었습니다. (card declined)"),
    (-1, "유효하지 않은 카드번호입니다. (invalid card number)"),
    (-1, "유효기간이 경과된 카드입니다. (card expired)"),
    (-1, "비밀번호 앞 2자리가 일치하지 않습니다. (wrong PIN digits)"),
]
COLUMNS = (
    "customer_uid",
    "owner_id",
    "status",
    "pg_provider",
    "pg_id",
    "card_name",
    "card_code",
    "masked_card_number",
    "card_type",
    "iamport_inserted_at",
    "iamport_updated_at",
    "last_error_code",
    "last_error_message",
    "iamport_data",
    "synced_at",
    "created_at",
    "updated_at",
)
SPREAD = datetime.timedelta(days=730)


class Command(BaseCommand):
    help = "Insert N synthetic billing keys owned by M synthetic users (for measuring at scale)."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True, help="How many billing keys to insert.")
        parser.add_argument("--owners", type=int, default=5000, help="How many owners to spread them over.")
        parser.add_argument("--batch-size", type=int, default=20_000, help="Rows per transaction.")
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for repeatable data.")

    def handle(self, *args, count: int, owners: int, batch_size: int, seed: int | None, **options):
        if count < 0 or owners < 1 or batch_size < 1:
            raise CommandError("--count must be >= 0, --owners and --batch-size >= 1.")
        rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
        started = time.monotonic()
        owner_ids = self._owners(owners)
        inserted = 0
        while inserted < count:
            size = min(batch_size, count - inserted)
            with transaction.atomic():
                _insert(_rows(rng, owner_ids, size))
            inserted += size
            if options["verbosity"] > 1:
                self.stdout.write(f"{inserted}/{count} billing keys")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # VACUUM cannot run inside a transaction (a caller's, or a test's): ANALYZE alone then.
                verb = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
                cursor.execute(f"{verb} {connection.ops.quote_name(BillingKey._meta.db_table)}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Inserted {inserted} billing keys for {len(owner_ids)} owners "
                f"in {time.monotonic() - started:.1f} s."
            )
        )

    def _owners(self, owners: int) -> list[int]:
        User = get_user_model()
        unusable = make_password(None)
        User.objects.bulk_create(
            [
                User(
                    username=f"seed_owner_{n:06d}",
                    email=f"Seed.Owner.{n:06d}@Example.com",
                    password=unusable,
                )
                for n in range(owners)
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
        names = [f"seed_owner_{n:06d}" for n in range(owners)]
        ids: list[int] = []
        for start in range(0, owners, 1000):
            ids += User.objects.filter(username__in=names[start : start + 1000]).values_list("pk", flat=True)
        return ids


def _rows(rng: random.Random, owner_ids: list[int], size: int) -> Iterator[tuple]:
    now = timezone.now()
    statuses = [status for status, _ in STATUS_MIX]
    weights = [share for _, share in STATUS_MIX]
    for status in rng.choices(statuses, weights, k=size):
        created = now - SPREAD * rng.random()
        customer_uid = f"cu_{secrets.token_hex(16)}"
        error_code, error_message = rng.choice(REFUSALS) if status == Status.FAILED else (None, "")
        if status in (Status.ACTIVE, Status.DELETED):
            pg_provider, pg_id = rng.choice(PGS)
            card_name, card_code = rng.choice(CARDS)
            masked = f"{rng.choice(['424242', '536148', '949019'])}******{rng.randrange(10_000):04d}"
            card_type: int | None = rng.choice([0, 1])
            registered = created + datetime.timedelta(seconds=rng.randrange(1, 10))
            data = {
                "customer_uid": customer_uid,
                "pg_provider": pg_provider,
                "pg_id": pg_id,
                "card_name": card_name,
                "card_code": card_code,
                "card_number": masked,
                "card_type": card_type,
                "inserted": int(registered.timestamp()),
                "updated": int(registered.timestamp()),
            }
        else:
            pg_provider = pg_id = card_name = card_code = masked = ""
            card_type = registered = None
            data = {}
        yield (
            customer_uid,
            rng.choice(owner_ids),
            status,
            pg_provider,
            pg_id,
            card_name,
            card_code,
            masked,
            card_type,
            registered,
            registered,
            error_code,
            error_message,
            json.dumps(data, ensure_ascii=False),
            registered,
            created,
            registered or created,
        )


def _insert(rows: Iterator[tuple]) -> None:
    table = connection.ops.quote_name(BillingKey._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", list(rows))  # noqa: S608
