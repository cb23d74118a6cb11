"""Webhooks: {imp_uid, merchant_uid, status} on approval and cancellation, with a bounded retry."""

from http import HTTPStatus

from . import spec_types


def test_approval_and_cancellation_are_notified_to_notice_url(api, receiver):
    api.register("cu_hook")
    payment = api.pay("cu_hook", "order_hook", notice_url=receiver.url)

    assert receiver.next() == (
        HTTPStatus.OK,
        {"imp_uid": payment["imp_uid"], "merchant_uid": "order_hook", "status": "paid"},
    )
    cancelled = api.post("/payments/cancel", json={"merchant_uid": "order_hook", "reason": "x"})
    cancelled = spec_types.answer(cancelled, HTTPStatus.OK, spec_types.PAYMENT)
    _, body = receiver.next()
    assert body == {
        "imp_uid": payment["imp_uid"],
        "merchant_uid": "order_hook",
        "status": "cancelled",
        "cancellation_id": cancelled["cancel_history"][0]["cancellation_id"],
    }


def test_a_failed_delivery_is_retried(api, app, receiver):
    receiver.fail_first = 1
    api.register("cu_retry")

    payment = api.pay("cu_retry", "order_retry", notice_url=receiver.url)

    first, second = receiver.next(), receiver.next()
    expected = {"imp_uid": payment["imp_uid"], "merchant_uid": "order_retry", "status": "paid"}
    assert first == (HTTPStatus.INTERNAL_SERVER_ERROR, expected)
    assert second == (HTTPStatus.OK, expected)
    assert receiver.nothing_more(app)
    assert app.stats()["webhooks"] == {"attempted": 2, "delivered": 1, "failed": 0, "pending": 0}


def test_retries_are_bounded(api, app, receiver):
    receiver.fail_first = 10
    api.register("cu_down")

    api.pay("cu_down", "order_down", notice_url=receiver.url)

    statuses = [receiver.next()[0] for _ in range(3)]
    assert statuses == [HTTPStatus.INTERNAL_SERVER_ERROR] * 3
    assert receiver.nothing_more(app)
    assert app.stats()["webhooks"] == {"attempted": 3, "delivered": 0, "failed": 1, "pending": 0}


def test_an_unreachable_receiver_is_given_up_on(api, app):
    api.register("cu_nowhere")

    api.pay("cu_nowhere", "order_nowhere", notice_url="http://127.0.0.1:9/closed")

    assert app.webhooks.wait_idle(timeout=10)
    assert app.stats()["webhooks"]["failed"] == 1
