"""Every admin page renders for a superuser and a Support user; nothing can be added, edited or deleted."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from tests.admin.conftest import KEYS_URL, logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["superuser", "support"])
def staff_client(request, admin_user, support_user):
    return logged_in(admin_user if request.param == "superuser" else support_user)


@pytest.fixture
def objects(failed_key, delivery):
    payment = delivery.payment
    payment.refunds.create(
        cancellation_id="cancel_admin_1",
        amount=1000,
        reason="customer asked",
        cancelled_at=payment.created_at,
    )
    return {
        "billingkey": failed_key,
        "billingkeyevent": failed_key.events.get(),
        "payment": payment,
        "webhookdelivery": delivery,
    }


@pytest.mark.parametrize("model", ["billingkey", "billingkeyevent", "payment", "webhookdelivery"])
def test_changelist_and_change_view_render(staff_client, objects, model):
    changelist = staff_client.get(reverse(f"admin:billing_{model}_changelist"))
    change = staff_client.get(reverse(f"admin:billing_{model}_change", args=[objects[model].pk]))

    assert changelist.status_code == HTTPStatus.OK
    assert change.status_code == HTTPStatus.OK
    assert change.context["has_change_permission"] is False
    assert change.context["has_delete_permission"] is False


@pytest.mark.parametrize(
    "model", ["billingkey", "billingkeyevent", "payment", "paymentrefund", "webhookdelivery"]
)
def test_nothing_can_be_added_by_hand(admin_client, model):
    url = f"/admin/billing/{model}/add/"

    assert admin_client.get(url).status_code in (HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND)


@pytest.mark.parametrize("model", ["billingkey", "billingkeyevent", "payment", "webhookdelivery"])
def test_no_local_delete(admin_client, objects, model):
    obj = objects[model]
    changelist = admin_client.get(reverse(f"admin:billing_{model}_changelist"))
    delete = admin_client.post(reverse(f"admin:billing_{model}_delete", args=[obj.pk]), {"post": "yes"})

    action_form = changelist.context["action_form"]
    actions = [name for name, _ in action_form.fields["action"].choices] if action_form else []
    assert "delete_selected" not in actions
    assert delete.status_code == HTTPStatus.FORBIDDEN
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_status_cannot_be_edited(admin_client, failed_key):
    response = admin_client.post(
        reverse("admin:billing_billingkey_change", args=[failed_key.pk]),
        {"status": "active", "last_error_message": "", "customer_uid": "cu_other"},
    )

    assert response.status_code == HTTPStatus.FORBIDDEN
    failed_key.refresh_from_db()
    assert (failed_key.status, failed_key.customer_uid) == ("failed", "cu_key_0001")


def test_key_page_shows_the_last_failure_and_the_audit_trail(support_client, failed_key):
    response = support_client.get(reverse("admin:billing_billingkey_change", args=[failed_key.pk]))

    page = response.content.decode()
    assert "카드가 거절되었습니다. (card declined)" in page
    assert "Refused by i&#x27;mport" in page or "Refused by i'mport" in page
    assert "Audit events (newest first)" in page


def test_audit_events_inline_newest_first(admin_client, failed_key):
    later = failed_key.events.create(
        source="admin", action="sync", outcome="succeeded", iamport_code=0, duration_ms=5
    )

    response = admin_client.get(reverse("admin:billing_billingkey_change", args=[failed_key.pk]))

    inline = response.context["inline_admin_formsets"][0]
    assert [form.original.pk for form in inline] == [later.pk, failed_key.events.earliest("created_at").pk]


def test_changelist_columns(support_client, failed_key):
    response = support_client.get(KEYS_URL)

    page = response.content.decode()
    for text in ("cu_key_0001", "gildong &lt;gildong@example.com&gt;", "[-1] 카드가 거절되었습니다."):
        assert text in page


def test_support_user_sees_payments_but_not_other_admin_apps(support_client):
    index = support_client.get("/admin/")

    models = {m["object_name"] for app in index.context["app_list"] for m in app["models"]}
    assert models == {"BillingKey", "BillingKeyEvent", "Payment", "WebhookDelivery"}
