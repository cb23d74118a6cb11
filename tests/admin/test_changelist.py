"""Search and filters of the billing-key change list, and what keeps it fast at a million rows."""

from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.admin import EstimatedCountPaginator, PgProviderFilter
from billing.models import BillingKey, BillingKeyEvent
from tests.admin.conftest import KEYS_URL

pytestmark = pytest.mark.django_db


def listed(client, query: str = "", url: str = KEYS_URL) -> set[str]:
    response = client.get(url + query)
    assert response.status_code == HTTPStatus.OK
    return {str(row) for row in response.context["cl"].result_list}


@pytest.fixture
def two_owners_keys(make_key, user, other_user):
    return {
        "gildong_active": make_key(owner=user),
        "gildong_failed": make_key(owner=user, status=BillingKey.Status.FAILED, pg_provider=""),
        "mallory_kcp": make_key(owner=other_user, pg_provider="kcp"),
    }


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("gildong@example.com", {"cu_key_0001", "cu_key_0002"}),
        ("GilDong@Example.COM", {"cu_key_0001", "cu_key_0002"}),
        ("  mallory@example.com ", {"cu_key_0003"}),
        ("gildong", {"cu_key_0001", "cu_key_0002"}),
        ("cu_key_0002", {"cu_key_0002"}),
        ("example.com", set()),
        ("cu_key", set()),
    ],
)
def test_search_by_owner_email_username_or_customer_uid(support_client, two_owners_keys, term, expected):
    assert listed(support_client, f"?q={term}") == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?status__exact=failed", {"cu_key_0002"}),
        ("?status__exact=active", {"cu_key_0001", "cu_key_0003"}),
        ("?pg_provider=kcp", {"cu_key_0003"}),
        ("?pg_provider=nice&status__exact=active", {"cu_key_0001"}),
        ("?status__exact=failed&q=mallory", set()),
    ],
)
def test_filters(support_client, two_owners_keys, query, expected):
    assert listed(support_client, query) == expected


def test_created_date_filter(support_client, two_owners_keys):
    old = two_owners_keys["mallory_kcp"]
    BillingKey.objects.filter(pk=old.pk).update(created_at=timezone.now() - timezone.timedelta(days=40))
    changelist = support_client.get(KEYS_URL).context["cl"]
    date_filter = next(f for f in changelist.filter_specs if f.title == "created at")
    past_7_days = next(c for c in date_filter.choices(changelist) if c["display"] == "Past 7 days")

    assert listed(support_client, past_7_days["query_string"]) == {"cu_key_0001", "cu_key_0002"}


def test_pg_filter_offers_each_pg_once(support_client, two_owners_keys, make_key):
    make_key(pg_provider="kcp")

    response = support_client.get(KEYS_URL)

    pg_filter = next(f for f in response.context["cl"].filter_specs if isinstance(f, PgProviderFilter))
    assert pg_filter.lookup_choices == [("kcp", "kcp"), ("nice", "nice")]


@pytest.mark.parametrize(
    ("url", "extra"),
    [
        (KEYS_URL, ""),
        (KEYS_URL, "?status__exact=active&pg_provider=nice"),
        (KEYS_URL, "?q=gildong@example.com"),
        ("/admin/billing/billingkeyevent/", ""),
        ("/admin/billing/payment/", ""),
        ("/admin/billing/payment/", "?q=gildong@example.com"),
        ("/admin/billing/webhookdelivery/", ""),
    ],
)
def test_query_count_does_not_grow_with_the_rows_shown(admin_client, user, make_payment, url, extra):
    def queries_for_rows(n: int) -> int:
        while BillingKey.objects.count() < n:
            payment = make_payment()
            key = payment.billing_key
            key.events.create(source="web", action="issue", outcome="succeeded", duration_ms=1, actor=user)
            payment.webhook_deliveries.create(merchant_uid=payment.merchant_uid, result="processed")
        with CaptureQueriesContext(connection) as ctx:
            response = admin_client.get(url + extra)
        assert len(response.context["cl"].result_list) == n
        return len(ctx.captured_queries)

    assert queries_for_rows(5) == queries_for_rows(50)


def test_changelist_never_counts_the_whole_table_nor_reads_distinct_values(admin_client, make_key):
    for _ in range(3):
        make_key()

    with CaptureQueriesContext(connection) as ctx:
        response = admin_client.get(KEYS_URL + "?status__exact=active")

    sql = [q["sql"] for q in ctx.captured_queries]
    assert response.context["cl"].full_result_count is None
    assert not [s for s in sql if "COUNT(*)" in s and "LIMIT" not in s]
    assert not [s for s in sql if "DISTINCT" in s]


def test_paginator_counts_exactly_up_to_its_bound(make_key, monkeypatch):
    for _ in range(5):
        make_key()
    monkeypatch.setattr(EstimatedCountPaginator, "exact_up_to", 3)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE billing_billingkey")  # the planner's estimate, as autovacuum keeps it

    paginator = EstimatedCountPaginator(BillingKey.objects.order_by("pk"), 2)

    # Beyond the bound: PostgreSQL's estimate (exact here, just analyzed); elsewhere an exact count.
    assert (paginator.count, paginator.num_pages) == (5, 3)
    assert paginator.estimated == (connection.vendor == "postgresql")
    assert EstimatedCountPaginator(BillingKey.objects.filter(status="failed"), 2).count == 0


def test_events_changelist_filters(support_client, failed_key):
    failed_key.events.create(source="admin", action="sync", outcome="succeeded", duration_ms=3)
    url = "/admin/billing/billingkeyevent/"

    refused = support_client.get(url + "?outcome__exact=refused&q=cu_key_0001")
    syncs = support_client.get(url + "?action__exact=sync")

    assert [e.outcome for e in refused.context["cl"].result_list] == [BillingKeyEvent.Outcome.REFUSED]
    assert [e.action for e in syncs.context["cl"].result_list] == [BillingKeyEvent.Action.SYNC]


def test_payments_search_and_filter(support_client, make_payment, other_user, make_key):
    mine = make_payment()
    theirs = make_payment(billing_key=make_key(owner=other_user), status="failed")
    url = "/admin/billing/payment/"

    assert listed(support_client, "?q=MALLORY@example.com", url) == {theirs.merchant_uid}
    assert listed(support_client, f"?q={mine.imp_uid}", url) == {mine.merchant_uid}
    assert listed(support_client, f"?q={mine.billing_key.customer_uid}", url) == {mine.merchant_uid}
    assert listed(support_client, "?status__exact=failed", url) == {theirs.merchant_uid}
    assert listed(support_client, f"?billing_key__id__exact={mine.billing_key_id}", url) == {
        mine.merchant_uid
    }


def test_seed_command_inserts_keys_for_reused_owners(django_user_model):
    call_command("seed_billing_keys", count=120, owners=4, batch_size=50, seed=1)
    call_command("seed_billing_keys", count=30, owners=4, seed=2)

    keys = BillingKey.objects.all()
    assert keys.count() == 150
    assert django_user_model.objects.filter(username__startswith="seed_owner_").count() == 4
    assert keys.values("customer_uid").distinct().count() == 150
    assert (
        keys.filter(status="failed").exclude(last_error_message="").count()
        == keys.filter(status="failed").count()
    )
    assert all(len(k.masked_card_number.replace("*", "")) <= 10 for k in keys)
