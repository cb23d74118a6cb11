"""One sentinel card through the whole site end to end; then no trace of it anywhere the site keeps things.

The site runs on ``live_server`` and the sandbox is served over HTTP by its command. The card goes through
the card page (signed in through the login page, each form posted with its CSRF token), the API (register;
register and pay), then its key is charged, the sandbox notifies the site, and the charge is refunded.
Then every table, the cache, every answer the site gave and what the log handlers of settings.LOGGING
wrote are scanned for it (as ``tests/test_card_data_sentinel.py`` does with i'mport faked in-process);
and so are the sandbox's own state file and log, which a developer's machine keeps.
"""

import logging
import re
import time
from http import HTTPStatus

import pytest
import requests

from billing.models import BillingKey, BillingKeyEvent, Payment, WebhookDelivery
from tests.support import traces
from tests.support.cards import forms_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

NUMBER = "4719-5308-2664-1300"  # Luhn-valid, used nowhere else in the suite
MASKED = "471953******1300"  # as i'mport (and the sandbox) shows it
EXPIRY, TYPED_EXPIRY, BIRTH = "2032-04", "04/32", "870523"
CARD = {"card_number": NUMBER, "expiry": EXPIRY, "birth": BIRTH, "pwd_2digit": "58"}
SENTINELS = (*forms_of(NUMBER), EXPIRY, TYPED_EXPIRY, "2032/04", "203204", BIRTH)
PASSWORD = "pw-Sentinel-2032"
TIMEOUT = 10
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Browser:
    """A customer's browser on the live server: its cookies, and every answer it was given."""

    def __init__(self, base_url: str, answers: list[str]):
        self.base_url = base_url
        self.answers = answers
        self.http = requests.Session()
        self.http.headers["Accept-Language"] = "en"

    def get(self, path: str) -> requests.Response:
        return self._kept(self.http.get(self.base_url + path, timeout=TIMEOUT))

    def submit(self, path: str, fields: dict[str, str]) -> requests.Response:
        """Open the form's page, then post it with the CSRF token the page carries (redirects followed)."""
        token = CSRF_FIELD.search(self.get(path).text)
        assert token, f"no CSRF token on {path}"
        sent = {"csrfmiddlewaretoken": token[1], **fields}
        return self._kept(self.http.post(self.base_url + path, data=sent, timeout=TIMEOUT))

    def _kept(self, response: requests.Response) -> requests.Response:
        self.answers += [answer_of(r) for r in (*response.history, response)]
        return response


def answer_of(response: requests.Response) -> str:
    """An answer as the client got it: status, headers (cookies included) and body."""
    return f"{response.status_code} {dict(response.headers)}\n{response.text}"


def kept(answers: list[str], response: requests.Response) -> dict:
    answers.append(answer_of(response))
    return response.json()


def wait_for_notifications(sandbox, merchant_uids: list[str], count: int) -> None:
    """Until the sandbox has delivered ``count`` notifications for these payments and has none pending."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        sent = sandbox.stats()["webhooks"]
        received = WebhookDelivery.objects.filter(merchant_uid__in=merchant_uids).count()
        if sent["pending"] == 0 and sent["delivered"] >= count and received >= count:
            return
        time.sleep(0.05)  # polling for a condition, bounded by the deadline
    raise AssertionError(f"notifications: the sandbox says {sent}, the site recorded {received}")


def sandbox_state(sandbox) -> str:
    """The sandbox's SQLite file as bytes on disk (with its WAL): rows, and what deleted rows left behind."""
    files = [sandbox.state.with_name(sandbox.state.name + suffix) for suffix in ("", "-wal", "-shm")]
    return "".join(f.read_bytes().decode("latin-1") for f in files if f.exists())


def test_a_sentinel_card_leaves_no_trace_end_to_end(
    sandbox_http, live_server, customer, customer_site, merchant_site, settings
):
    # The live server speaks plain HTTP, over which a browser never sends back a Secure cookie;
    # production keeps them Secure (tests/test_settings.py).
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    customer.set_password(PASSWORD)
    customer.save(update_fields=["password"])
    answers: list[str] = []
    browser = Browser(live_server.url, answers)

    # At DEBUG (as with LOG_LEVEL=DEBUG): the flows log nothing at INFO when all goes well.
    with traces.handler_output(logging.DEBUG) as logged:
        # The card page, signed in through the login page.
        signed_in = browser.submit("/accounts/login/", {"username": customer.username, "password": PASSWORD})
        assert signed_in.url == live_server.url + "/billing/cards/", signed_in.url
        typed = {**CARD, "expiry": TYPED_EXPIRY}  # as the card shows it; sent to i'mport as YYYY-MM
        listed = browser.submit("/billing/cards/new/", typed)
        assert (listed.status_code, listed.url) == (HTTPStatus.OK, live_server.url + "/billing/cards/")
        keys = "/api/v1/billing-keys/"
        # The API: register; register and pay (with Idempotency-Keys: their records hold the answers).
        registered = kept(answers, customer_site.post(keys, CARD, {"Idempotency-Key": "sentinel-1"}))
        paying = {**CARD, "pay_now": True}
        paid = kept(answers, customer_site.post(keys, paying, {"Idempotency-Key": "sentinel-2"}))
        assert registered["status"] == paid["status"] == "active", (registered, paid)
        assert paid["payment"]["status"] == "paid", paid
        # A charge of the key, refunded in part; the sandbox notifies the site of each.
        charged = kept(
            answers,
            merchant_site.post(
                "/api/v1/payments/",
                {"customer_uid": registered["customer_uid"], "amount": 12_000, "name": "June"},
            ),
        )
        assert charged["status"] == "paid", charged
        refund = f"/api/v1/payments/{charged['merchant_uid']}/refund/"
        refunded = kept(answers, merchant_site.post(refund, {"amount": 2_000, "reason": "damaged"}))
        assert refunded["cancelled_amount"] == 2_000, refunded
        uids = [paid["payment"]["merchant_uid"], charged["merchant_uid"]]
        wait_for_notifications(sandbox_http, uids, count=3)  # two payments, one refund
        # What the customer and the merchant read afterwards.
        for path in ("/billing/cards/", "/billing/payments/"):
            assert browser.get(path).status_code == HTTPStatus.OK
        for path in (keys, "/api/v1/payments/", f"{keys}{registered['customer_uid']}/"):
            kept(answers, customer_site.get(path))
        kept(answers, merchant_site.get(f"/api/v1/payments/{charged['merchant_uid']}/"))

    # Every flow left its records (so the scan below looks at something).
    assert set(BillingKeyEvent.objects.values_list("source", flat=True)) >= {"web", "api"}
    assert BillingKey.objects.filter(owner=customer, masked_card_number=MASKED).count() == 3
    assert Payment.objects.filter(owner=customer).count() == 2
    assert set(WebhookDelivery.objects.values_list("result", flat=True)) <= {"processed", "duplicate"}

    site = {
        "tables": traces.table_contents(),
        "cache": traces.cache_contents(),
        "answers": "\n".join(answers),
        "log handlers": logged.getvalue(),
    }
    traces.assert_no_trace(site, SENTINELS)
    assert MASKED in site["tables"] and MASKED in site["answers"]

    # The sandbox stands for i'mport, which does hold card data; it promises (store.py) to keep only the
    # masked number, and its state file and log stay on a developer's disk.
    sandbox = {
        "the sandbox's state file": sandbox_state(sandbox_http),
        "the sandbox's log": sandbox_http.log.read_text(),
    }
    traces.assert_no_trace(sandbox, SENTINELS)
    assert MASKED in sandbox["the sandbox's state file"]
