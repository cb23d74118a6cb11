"""The pooled backend's connection check: no round trip for a healthy connection; a dead one is replaced."""

import select

import psycopg
import pytest
from django.db import connection
from psycopg_pool import ConnectionPool

from merchant_site.pooled_postgresql.base import DatabaseWrapper, looks_alive

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL pool: CI's second pass"),
]


def connect() -> psycopg.Connection:
    return psycopg.connect(**connection.get_connection_params(), autocommit=True)


def terminate(conn: psycopg.Connection) -> None:
    """Have the server end ``conn``'s session, and wait (bounded) until its goodbye reaches the socket."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid])
    poller = select.poll()
    poller.register(conn.pgconn.socket, select.POLLIN)
    assert poller.poll(5000), "the server did not close the connection"


def test_a_healthy_connection_passes_without_asking_the_server(monkeypatch):
    asked = []
    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(asked.append))
    with connect() as conn:
        assert looks_alive(conn)

    assert asked == []


def test_a_connection_the_server_closed_is_found_dead():
    with connect() as conn:
        terminate(conn)

        assert not looks_alive(conn)


def test_a_closed_connection_is_found_dead():
    conn = connect()
    conn.close()

    assert not looks_alive(conn)


@pytest.fixture
def pooled():
    """The backend as settings build it with DATABASE_POOL_SIZE, on the test database, one connection."""
    settings_dict = {
        **connection.settings_dict,
        "ENGINE": "merchant_site.pooled_postgresql",
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "OPTIONS": {**connection.settings_dict["OPTIONS"], "pool": {"min_size": 1, "max_size": 1}},
    }
    wrapper = DatabaseWrapper(settings_dict, alias="pooled_test")
    yield wrapper
    wrapper.close()
    wrapper.close_pool()


def test_the_backend_replaces_a_connection_the_server_closed(pooled):
    pooled.ensure_connection()
    first = pooled.connection
    first_pid = first.info.backend_pid
    pooled.close()  # back to the pool, as between two requests
    terminate(first)

    with pooled.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()

    assert pid != first_pid


def test_the_backend_keeps_a_healthy_connection(pooled):
    pooled.ensure_connection()
    first_pid = pooled.connection.info.backend_pid
    pooled.close()

    with pooled.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()

    assert pid == first_pid
