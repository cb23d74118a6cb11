"""Re-sync and delete-at-i'mport: through the services, one message per key, permission-checked."""

from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from billing.admin import base as admin_base
from billing.models import BillingKey, BillingKeyEvent
from tests.admin.conftest import KEYS_URL, REFUSED, UNAVAILABLE, logged_in, messages_of, selected

pytestmark = pytest.mark.django_db
Status = BillingKey.Status


def run_action(client, action: str, keys, **extra):
    data = {"action": action, "_selected_action": selected(*keys), **extra}
    return client.post(KEYS_URL, data, follow=True)


def action_names(client) -> list[str]:
    form = client.get(KEYS_URL).context["action_form"]
    return [name for name, _ in form.fields["action"].choices if name] if form else []


def test_support_group_permissions():
    support = Group.objects.get(name="Support")

    assert sorted(support.permissions.values_list("codename", flat=True)) == [
        "sync_billingkey",
        "view_billingkey",
        "view_billingkeyevent",
        "view_payment",
        "view_paymentrefund",
        "view_webhookdelivery",
    ]


def test_resync_reports_each_key_and_continues_after_a_failure(
    support_client, support_user, customers, make_key
):
    first, broken, last = make_key(status=Status.UNKNOWN), make_key(), make_key(status=Status.PENDING)
    customers.failing[broken.customer_uid] = UNAVAILABLE

    response = run_action(support_client, "resync_from_iamport", [first, broken, last])

    assert response.status_code == HTTPStatus.OK
    notes = messages_of(response)
    assert len(notes) == 3
    assert f"{first.customer_uid} re-synced from i'mport: unknown → active." in notes
    assert f"{last.customer_uid} re-synced from i'mport: pending → active." in notes
    assert any(
        n.startswith(f"{broken.customer_uid} could not be re-synced: IamportUnavailable") for n in notes
    )
    for key, outcome in ((first, "succeeded"), (broken, "unavailable"), (last, "succeeded")):
        event = key.events.get()
        assert (event.actor, event.source, event.action, event.outcome) == (
            support_user,
            "admin",
            "sync",
            outcome,
        )
    broken.refresh_from_db()
    assert broken.status == Status.ACTIVE


def test_resync_from_the_key_page(support_client, customers, failed_key):
    url = reverse("admin:billing_billingkey_resync", args=[failed_key.pk])

    assert support_client.get(url).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    response = support_client.post(url, follow=True)

    assert response.redirect_chain[-1][0] == reverse("admin:billing_billingkey_change", args=[failed_key.pk])
    failed_key.refresh_from_db()
    assert failed_key.status == Status.ACTIVE
    assert failed_key.events.filter(action="sync", source="admin").count() == 1


def test_resync_needs_its_permission(admin_user, support_user, customers, make_key, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.set(
        Group.objects.get(name="Support").permissions.exclude(codename="sync_billingkey")
    )
    client = logged_in(viewer)
    key = make_key(status=Status.UNKNOWN)

    listing = action_names(client)
    page = client.post(reverse("admin:billing_billingkey_resync", args=[key.pk]))
    run_action(client, "resync_from_iamport", [key])

    assert listing == []
    assert page.status_code == HTTPStatus.FORBIDDEN
    assert customers.calls_to("GET", "/subscribe/customers/") == []
    key.refresh_from_db()
    assert key.status == Status.UNKNOWN


def test_support_user_without_the_permission_cannot_delete(support_client, customers, make_key):
    key = make_key()

    actions = action_names(support_client)
    posted = run_action(support_client, "delete_at_iamport", [key], confirmed="yes")
    own_page = support_client.get(reverse("admin:billing_billingkey_delete_at_iamport", args=[key.pk]))
    own_post = support_client.post(reverse("admin:billing_billingkey_delete_at_iamport", args=[key.pk]))
    key_page = support_client.get(reverse("admin:billing_billingkey_change", args=[key.pk]))

    assert actions == ["resync_from_iamport"]
    assert "No action selected." in messages_of(posted)
    assert (own_page.status_code, own_post.status_code) == (HTTPStatus.FORBIDDEN, HTTPStatus.FORBIDDEN)
    assert "Delete at i" not in key_page.content.decode()
    assert customers.calls_to("DELETE", "/subscribe/customers/") == []
    key.refresh_from_db()
    assert key.status == Status.ACTIVE
    assert not key.events.exists()


def test_delete_asks_for_confirmation_naming_every_key(deleter_client, customers, make_key):
    keys = [make_key(), make_key()]

    response = run_action(deleter_client, "delete_at_iamport", keys)

    assert response.status_code == HTTPStatus.OK
    assert response.templates[0].name == "admin/billing/billingkey/delete_at_iamport_confirmation.html"
    page = response.content.decode()
    assert all(key.customer_uid in page for key in keys)
    assert customers.calls_to("DELETE", "/subscribe/customers/") == []
    assert set(BillingKey.objects.values_list("status", flat=True)) == {Status.ACTIVE}


def test_delete_with_the_permission(deleter_client, support_user, customers, make_key):
    kept_going, refused, deleted_before = make_key(), make_key(), make_key(status=Status.DELETED)
    customers.failing[refused.customer_uid] = REFUSED

    response = run_action(
        deleter_client,
        "delete_at_iamport",
        [kept_going, refused, deleted_before],
        confirmed="yes",
        reason="customer asked by phone",
    )

    notes = messages_of(response)
    assert f"{kept_going.customer_uid} deleted at i'mport." in notes
    assert f"{deleted_before.customer_uid} was already deleted." in notes
    assert any(
        n.startswith(
            f"{refused.customer_uid} could not be deleted at i'mport: IamportRefused (i'mport code -1"
        )
        for n in notes
    )
    calls = customers.calls_to("DELETE", "/subscribe/customers/")
    assert len(calls) == 2
    assert "reason=customer+asked+by+phone" in calls[0].request.url
    statuses = dict(BillingKey.objects.values_list("customer_uid", "status"))
    assert statuses == {
        kept_going.customer_uid: Status.DELETED,
        refused.customer_uid: Status.ACTIVE,
        deleted_before.customer_uid: Status.DELETED,
    }
    event = kept_going.events.get()
    assert (event.actor, event.source, event.action, event.outcome) == (
        support_user,
        BillingKeyEvent.Source.ADMIN,
        BillingKeyEvent.Action.DELETE,
        BillingKeyEvent.Outcome.SUCCEEDED,
    )
    assert refused.events.get().outcome == BillingKeyEvent.Outcome.REFUSED


def test_delete_from_the_key_page(deleter_client, customers, make_key):
    key = make_key()
    url = reverse("admin:billing_billingkey_delete_at_iamport", args=[key.pk])

    key_page = deleter_client.get(reverse("admin:billing_billingkey_change", args=[key.pk]))
    confirmation = deleter_client.get(url)
    done = deleter_client.post(url, {"reason": ""}, follow=True)

    assert url in key_page.content.decode()
    assert key.customer_uid in confirmation.content.decode()
    assert f"{key.customer_uid} deleted at i'mport." in messages_of(done)
    key.refresh_from_db()
    assert key.status == Status.DELETED


@pytest.mark.parametrize("action", ["resync_from_iamport", "delete_at_iamport"])
def test_too_many_rows_are_refused(deleter_client, customers, make_key, monkeypatch, action):
    monkeypatch.setattr(admin_base, "MAX_ROWS_PER_ACTION", 2)
    keys = [make_key(), make_key(), make_key()]

    response = run_action(deleter_client, action, keys, confirmed="yes")

    assert messages_of(response) == ["Select at most 2 rows for this action; nothing was done."]
    assert customers.calls_to("GET", "/subscribe/customers/") == []
    assert customers.calls_to("DELETE", "/subscribe/customers/") == []
    assert not BillingKeyEvent.objects.exists()
