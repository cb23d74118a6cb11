"""The same Idempotency-Key sent twice at once, on PostgreSQL: one charge reaches i'mport, the other waits.

Threads released together by a barrier; i'mport's charge endpoint held by a gate until the second
request has been answered. PostgreSQL only (CI's second pass).
"""

from http import HTTPStatus

import pytest
from django.db import connection

from billing.models import IdempotentRequest, Payment
from tests.conftest import client_for
from tests.support.threads import Together

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="races on PostgreSQL: CI's second pass"),
]

LIST = "/api/v1/payments/"
DATA = {"customer_uid": "cu_1", "amount": 9_900, "name": "June"}


def test_the_same_key_at_once_charges_once_and_tells_the_other_to_wait(merchant, active_key, ledger):
    gate = ledger.hold("again")
    clients = [client_for(merchant), client_for(merchant)]

    def post(client):
        return lambda: client.post(LIST, DATA, format="json", HTTP_IDEMPOTENCY_KEY="same-key")

    pair = Together(*(post(c) for c in clients)).start()
    assert gate.wait_for(1), "one request should reach i'mport"
    assert pair.wait_until_finished(1, timeout=15), "the other should be answered without i'mport"
    gate.release()
    answers = pair.join()

    assert not any(isinstance(a, BaseException) for a in answers), answers
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [HTTPStatus.CREATED, HTTPStatus.CONFLICT]
    waiting = next(a for a in answers if a.status_code == HTTPStatus.CONFLICT)
    assert waiting.json()["error"] == "conflict"
    assert ledger.calls("POST", "/subscribe/payments/again") == 1
    assert Payment.objects.count() == 1
    claim = IdempotentRequest.objects.get()
    assert claim.response_status == HTTPStatus.CREATED

    # The retry after both answered replays the charge.
    replay = clients[0].post(LIST, DATA, format="json", HTTP_IDEMPOTENCY_KEY="same-key")
    assert replay.status_code == HTTPStatus.CREATED
    assert replay["Idempotent-Replayed"] == "true"
    assert ledger.calls("POST", "/subscribe/payments/again") == 1


@pytest.mark.parametrize("count", [4])
def test_many_at_once_with_one_key_charge_once(merchant, active_key, ledger, count):
    gate = ledger.hold("again")
    clients = [client_for(merchant) for _ in range(count)]

    crowd = Together(
        *(lambda c=c: c.post(LIST, DATA, format="json", HTTP_IDEMPOTENCY_KEY="crowd") for c in clients)
    ).start()
    assert gate.wait_for(1)
    assert crowd.wait_until_finished(count - 1, timeout=20)
    gate.release()
    answers = crowd.join()

    assert not any(isinstance(a, BaseException) for a in answers), answers
    assert sorted(a.status_code for a in answers) == [HTTPStatus.CREATED] + [HTTPStatus.CONFLICT] * (
        count - 1
    )
    assert ledger.calls("POST", "/subscribe/payments/again") == 1
    assert Payment.objects.count() == 1
