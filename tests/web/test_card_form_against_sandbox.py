"""End to end: the real card form, through Django's test client, against the sandbox served over HTTP."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from billing.iamport import get_client, reset_client
from billing.iamport.errors import IamportNotFound
from billing.models import BillingKey
from tests.support.sandbox_process import point_the_site_at, served_sandbox

pytestmark = [pytest.mark.django_db, pytest.mark.e2e]


@pytest.fixture
def sandbox_over_http(settings, tmp_path):
    """``manage.py iamport_sandbox`` in its own process, and the site pointed at it by URL and keys."""
    with served_sandbox(tmp_path / "sandbox.sqlite3") as url:
        point_the_site_at(settings, url)
        yield url
    reset_client()


def test_register_refuse_and_remove_a_card(sandbox_over_http, customer_client, user):
    form = customer_client.get(reverse("billing:card-new"))
    assert form.status_code == HTTPStatus.OK

    good = {"card_number": "4242-4242-4242-4242", "expiry": "2031-01", "birth": "900101", "pwd_2digit": "12"}
    listed = customer_client.post(reverse("billing:card-new"), good, follow=True)

    key = BillingKey.objects.get(owner=user, status=BillingKey.Status.ACTIVE)
    assert key.masked_card_number in listed.text
    assert "4242-4242-4242-4242" not in listed.text
    assert "*" in key.masked_card_number
    assert get_client().get_billing_key(key.customer_uid).card_number == key.masked_card_number

    refused = customer_client.post(
        reverse("billing:card-new"), {**good, "card_number": "4000-0000-0000-0002"}
    )

    assert refused.status_code == HTTPStatus.BAD_REQUEST
    failed = BillingKey.objects.get(owner=user, status=BillingKey.Status.FAILED)
    assert failed.last_error_message
    assert failed.last_error_message not in refused.text  # i'mport's text stays for support
    assert "The card company did not accept this card." in refused.text
    assert "4000-0000-0000-0002" not in refused.text

    customer_client.post(reverse("billing:card-delete", args=[key.customer_uid]))

    key.refresh_from_db()
    assert key.status == BillingKey.Status.DELETED
    with pytest.raises(IamportNotFound):
        get_client().get_billing_key(key.customer_uid)
