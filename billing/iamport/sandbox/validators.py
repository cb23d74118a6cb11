"""Parameter checks shared by the resources: types, lengths and amounts, refused as i'mport refuses them.

A missing or wrong-typed parameter is a 400 (``bad_request``); a value of the right type that
i'mport declines (a zero amount, a fractional one) is an HTTP 200 refusal with code 1. ``where``
prefixes a field's name inside a list (``schedules[0].``) so the message names the exact field.
"""

import json
import math
import re
from http import HTTPStatus
from typing import Any

from .http import Refusal, bad_request


def check_customer_uid(customer_uid: str) -> None:
    if len(customer_uid) > 80:
        raise bad_request("customer_uid는 80자 이하여야 합니다. (customer_uid too long)")


def optional_text(body: dict, field: str, where: str = "") -> str | None:
    value = body.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise bad_request(f"{where}{field} 파라미터의 형식이 올바르지 않습니다. (wrong type)")
    return str(value)


def required_text(body: dict, field: str, where: str = "") -> str:
    value = optional_text(body, field, where)
    if value is None:
        raise bad_request(f"{where}{field} 파라미터가 누락되었습니다. (missing {where}{field})")
    return value


def positive_int(value: Any, field: str) -> int:
    number = integer_value(value, field)
    if number < 1:
        raise bad_request(f"{field} 파라미터는 1 이상이어야 합니다.")
    return number


def integer_value(value: Any, field: str) -> int:
    """An integer, written as one (JSON number or digits in a form field); anything else is a 400."""
    if isinstance(value, bool):
        raise bad_request(f"{field} 파라미터는 정수여야 합니다. (wrong type)")
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,18}\s*", value):
        return int(value)
    raise bad_request(f"{field} 파라미터는 정수여야 합니다. (wrong type)")


def amount_value(body: dict, field: str, where: str = "") -> int | None:
    """A whole amount of money, or None when absent. Wrong type: 400; the sign is the caller's rule."""
    value = body.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise bad_request(f"{where}{field}는 금액(숫자)이어야 합니다. (wrong type)")
    try:
        number = float(value)
    except ValueError:
        raise bad_request(f"{where}{field}는 금액(숫자)이어야 합니다. (wrong type)") from None
    if not math.isfinite(number) or abs(number) >= 1e15:
        raise bad_request(f"{where}{field}는 금액(숫자)이어야 합니다. (out of range)")
    if number != int(number):
        raise Refusal(HTTPStatus.OK, 1, f"{where}{field}는 정수 금액이어야 합니다. (not a whole amount)")
    return int(number)


def order_fields(body: dict, where: str = "") -> dict:
    merchant_uid = required_text(body, "merchant_uid", where)
    if len(merchant_uid) > 40:
        raise bad_request(f"{where}merchant_uid는 40자 이하여야 합니다. (merchant_uid too long)")
    amount = amount_value(body, "amount", where)
    if amount is None:
        raise bad_request(f"{where}amount 파라미터가 누락되었습니다. (missing {where}amount)")
    if amount <= 0:
        raise Refusal(
            HTTPStatus.OK, 1, f"{where}amount는 0보다 큰 금액이어야 합니다. (amount must be positive)"
        )
    name = optional_text(body, "name", where) or ""
    if len(name) > 40:
        raise bad_request(f"{where}name은 40자 이하여야 합니다. (name too long)")
    card_quota_of(body, where)
    custom_data_of(body, where)
    return {"merchant_uid": merchant_uid, "amount": amount, "name": name}


def scheduled_order_fields(item: Any, index: int, now: int) -> dict:
    where = f"schedules[{index}]."
    if not isinstance(item, dict):
        raise bad_request(f"schedules[{index}]는 객체여야 합니다. (wrong type)")
    order = order_fields(item, where)
    if item.get("schedule_at") in (None, ""):
        raise bad_request(f"{where}schedule_at 파라미터가 누락되었습니다. (missing {where}schedule_at)")
    order["schedule_at"] = integer_value(item["schedule_at"], f"{where}schedule_at")
    if order["schedule_at"] <= now:
        raise bad_request(f"{where}schedule_at은 현재 시각 이후여야 합니다. (schedule_at in the past)")
    if item.get("name") is None:
        raise bad_request(f"{where}name 파라미터가 누락되었습니다. (missing {where}name)")
    order["currency"] = optional_text(item, "currency", where) or "KRW"
    for field in ("buyer_name", "buyer_email", "buyer_tel", "buyer_addr", "buyer_postcode"):
        order[field] = optional_text(item, field, where)
    order["custom_data"] = custom_data_of(item, where)
    order["notice_url"] = optional_text(item, "notice_url", where)
    order["promotion_id"] = optional_text(item, "promotion_id", where)
    return order


def pg_provider_of(body: dict) -> str:
    pg = optional_text(body, "pg") or "nice"
    return pg.split(".", 1)[0]


def pg_id_of(body: dict) -> str:
    pg = optional_text(body, "pg") or ""
    return pg.split(".", 1)[1] if "." in pg else "iamport00m"


def card_quota_of(body: dict, where: str = "") -> int:
    value = body.get("card_quota")
    return 0 if value in (None, "") else max(0, integer_value(value, f"{where}card_quota"))


def custom_data_of(body: dict, where: str = "") -> str | None:
    """custom_data is a string at i'mport; an object sent as JSON is kept as its JSON text."""
    value = body.get("custom_data")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return optional_text(body, "custom_data", where)
