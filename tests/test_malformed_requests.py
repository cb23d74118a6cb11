"""A NUL or non-UTF-8 bytes in the path or query string: 400 before any view or query runs."""

from http import HTTPStatus

import pytest


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/billing-keys/cu_%00x/",
        "/api/v1/payments/pay%00/refund/",
        "/billing/cards/cu_%00/delete/",
        "/admin/billing/billingkey/?q=%00",
        "/admin/billing/billingkey/?status__exact=%00",
        "/api/v1/billing-keys/?owner=%00",
        "/api/v1/billing-keys/?cursor=%ff",
    ],
)
def test_nul_or_broken_utf8_is_a_400(admin_client, url):
    response = admin_client.get(url)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"] == "invalid"


def test_broken_utf8_in_the_request_line_is_a_400(client):
    # gunicorn passes the request line on as RAW_URI; Django's own copy of the path is already decoded.
    response = client.get("/api/v1/billing-keys/%ff/", RAW_URI="/api/v1/billing-keys/%ff/")

    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_ordinary_non_ascii_is_not_refused(admin_client):
    response = admin_client.get("/admin/billing/billingkey/", {"q": "홍길동²"})

    assert response.status_code == HTTPStatus.OK
