"""Time the billing-key change list, as a Support user. Run: manage.py shell < docs/measure_admin.py"""

import statistics
import time
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import BillingKey

URL = "/admin/billing/billingkey/"
support, _ = User.objects.get_or_create(username="bench_support", defaults={"is_staff": True})
support.groups.add(Group.objects.get(name="Support"))
client = Client()
client.force_login(support)
key = BillingKey.objects.filter(status="failed").order_by("-id").first()
owner_email = BillingKey.objects.filter(pk=key.pk).values_list("owner__email", flat=True).get().lower()
week_ago = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=7)
cases = {
    "unfiltered": "",
    "status=failed": "?status__exact=failed",
    "pg=kcp": "?pg_provider=kcp",
    "created past 7 days": "?" + urlencode({"created_at__gte": str(week_ago)}),
    "failed+kcp+7 days": "?status__exact=failed&pg_provider=kcp&"
    + urlencode({"created_at__gte": str(week_ago)}),
    "search email": "?" + urlencode({"q": owner_email}),
    "search customer_uid": "?q=" + key.customer_uid,
    "page 50": "?p=50",
    "one key's page": f"{key.pk}/change/",
}
for name, query in cases.items():
    client.get(URL + query)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        response = client.get(URL + query)
        times.append((time.perf_counter() - start) * 1000)
    if response.status_code != 200:
        raise SystemExit(f"{name}: HTTP {response.status_code}")
    with CaptureQueriesContext(connection) as ctx:
        client.get(URL + query)
    slowest = max(float(q["time"]) for q in ctx.captured_queries) * 1000
    print(
        f"{name:22} median {statistics.median(times):6.1f} ms  max {max(times):6.1f} ms  "
        f"queries {len(ctx.captured_queries)}  slowest query {slowest:.0f} ms"
    )
