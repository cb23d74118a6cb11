"""The subscriptions API, against the in-process sandbox."""

import uuid
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from rest_framework.test import APIClient

from subscriptions.models import Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def post(client, path, body=None, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(path, body or {}, format="json", **headers)


def test_plans_are_listed(api, plan):
    answer = api.get("/api/v1/plans/")

    assert answer.status_code == HTTPStatus.OK
    assert answer.json() == [
        {
            "code": "basic-monthly",
            "name": "Basic (monthly)",
            "amount": 9900,
            "interval": "month",
            "interval_count": 1,
            "trial_days": 0,
        }
    ]


def test_subscribe_charge_renew_and_read_back(api, plan, good_key, ledger):
    answer = post(
        api,
        "/api/v1/subscriptions/",
        {"plan": "basic-monthly", "customer_uid": good_key.customer_uid},
        key=str(uuid.uuid4()),
    )

    assert answer.status_code == HTTPStatus.CREATED, answer.json()
    body = answer.json()
    assert body["plan"] == "basic-monthly" and body["status"] == "active"
    assert body["customer_uid"] == good_key.customer_uid
    assert body["current_period_start"].endswith("+09:00") and body["cancel_at_period_end"] is False
    end = Subscription.objects.get().current_period_end

    call_command("renew_due", "--now", end.isoformat())

    renewals = api.get(f"/api/v1/subscriptions/{body['id']}/renewals/").json()
    assert [(r["status"], r["amount"], r["attempts"]) for r in renewals] == [
        ("paid", 9900, 1),
        ("paid", 9900, 1),
    ]
    assert all(r["payments"][0]["status"] == "paid" for r in renewals)
    assert ledger.charges() == 2
    listed = api.get("/api/v1/subscriptions/").json()["results"]
    assert [s["id"] for s in listed] == [body["id"]]


def test_an_idempotency_key_replays_the_first_answer_and_charges_once(api, plan, good_key, ledger):
    body = {"plan": "basic-monthly", "customer_uid": good_key.customer_uid}
    first = post(api, "/api/v1/subscriptions/", body, key="same")
    again = post(api, "/api/v1/subscriptions/", body, key="same")

    assert again.status_code == first.status_code == HTTPStatus.CREATED
    assert again.json()["id"] == first.json()["id"]
    assert ledger.charges() == 1


def test_a_second_live_subscription_to_one_plan_is_a_conflict(api, plan, good_key, ledger):
    body = {"plan": "basic-monthly", "customer_uid": good_key.customer_uid}
    post(api, "/api/v1/subscriptions/", body)

    answer = post(api, "/api/v1/subscriptions/", body)

    assert answer.status_code == HTTPStatus.CONFLICT
    assert ledger.charges() == 1


def test_a_declined_first_charge_answers_402_and_ends_the_subscription(api, plan, failing_key, ledger):
    answer = post(
        api, "/api/v1/subscriptions/", {"plan": "basic-monthly", "customer_uid": failing_key.customer_uid}
    )

    assert answer.status_code == HTTPStatus.PAYMENT_REQUIRED
    body = answer.json()
    assert body["error"] == "refused" and "insufficient funds" in body["detail"]
    assert body["subscription"]["status"] == "ended" and body["payment"]["status"] == "failed"


def test_cancel_resume_and_change_card(api, plan, good_key, register, user, ledger):
    created = post(
        api, "/api/v1/subscriptions/", {"plan": "basic-monthly", "customer_uid": good_key.customer_uid}
    )
    pk = created.json()["id"]

    cancelled = post(api, f"/api/v1/subscriptions/{pk}/cancel/", {"at_period_end": True})
    assert cancelled.status_code == HTTPStatus.OK and cancelled.json()["cancel_at_period_end"] is True
    assert cancelled.json()["next_charge_at"] is None
    resumed = post(api, f"/api/v1/subscriptions/{pk}/resume/")
    assert resumed.json()["cancel_at_period_end"] is False
    other_card = register(user)
    changed = post(api, f"/api/v1/subscriptions/{pk}/card/", {"customer_uid": other_card.customer_uid})
    assert changed.json()["customer_uid"] == other_card.customer_uid
    now = post(api, f"/api/v1/subscriptions/{pk}/cancel/", {"at_period_end": False})
    assert now.json()["status"] == "cancelled"
    assert post(api, f"/api/v1/subscriptions/{pk}/resume/").status_code == HTTPStatus.CONFLICT


def test_another_customers_subscription_and_card_answer_404(api, plan, register, other_user, user, ledger):
    theirs = register(other_user)
    answer = post(
        api, "/api/v1/subscriptions/", {"plan": "basic-monthly", "customer_uid": theirs.customer_uid}
    )
    assert answer.status_code == HTTPStatus.NOT_FOUND

    mallory = APIClient()
    mallory.force_authenticate(other_user)
    pk = post(
        mallory, "/api/v1/subscriptions/", {"plan": "basic-monthly", "customer_uid": theirs.customer_uid}
    ).json()["id"]
    assert api.get(f"/api/v1/subscriptions/{pk}/").status_code == HTTPStatus.NOT_FOUND
    assert api.get(f"/api/v1/subscriptions/{pk}/renewals/").status_code == HTTPStatus.NOT_FOUND
    assert post(api, f"/api/v1/subscriptions/{pk}/cancel/").status_code == HTTPStatus.NOT_FOUND
    assert api.get("/api/v1/subscriptions/").json()["results"] == []

    user.user_permissions.add(Permission.objects.get(codename="view_subscription"))
    staff = APIClient()
    staff.force_authenticate(type(user).objects.get(pk=user.pk))
    assert [s["id"] for s in staff.get("/api/v1/subscriptions/").json()["results"]] == [pk]


def test_an_unknown_plan_is_invalid_and_anonymous_is_refused(api, client, good_key):
    answer = post(api, "/api/v1/subscriptions/", {"plan": "nope", "customer_uid": good_key.customer_uid})
    assert answer.status_code == HTTPStatus.BAD_REQUEST and answer.json()["fields"]["plan"]
    assert APIClient().get("/api/v1/subscriptions/").status_code == HTTPStatus.UNAUTHORIZED


def test_the_operations_are_in_the_schema(client):
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    for path in (
        "/api/v1/plans/",
        "/api/v1/subscriptions/",
        "/api/v1/subscriptions/{id}/renewals/",
        "/api/v1/subscriptions/{id}/cancel/",
        "/api/v1/subscriptions/{id}/card/",
    ):
        assert path in paths, path
