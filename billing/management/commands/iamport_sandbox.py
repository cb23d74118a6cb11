"""Serve the i'mport sandbox over HTTP: ``python manage.py iamport_sandbox --port 8089``."""

import signal
import threading
from pathlib import Path
from typing import cast

from django.core.management.base import BaseCommand, CommandError

from billing.conf import billing_settings
from billing.iamport.sandbox import make_app, serve


class Command(BaseCommand):
    help = "Serve the offline i'mport V1 sandbox over HTTP (credentials sandbox_key / sandbox_secret)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8089)
        parser.add_argument(
            "--state", default=billing_settings.SANDBOX_STATE, help="SQLite file kept across restarts."
        )
        parser.add_argument("--reset", action="store_true", help="Start with an empty state.")
        parser.add_argument(
            "--webhook-url", default=None, help="Where to send notifications without notice_url."
        )
        parser.add_argument("--imp-key", default="sandbox_key")
        parser.add_argument("--imp-secret", default="sandbox_secret")
        parser.add_argument("--latency-ms", type=int, default=0, help="Added to every API answer.")
        parser.add_argument("--error-rate", type=float, default=0.0, help="Share of 5xx answers (0 to 1).")
        parser.add_argument(
            "--hang",
            choices=["before", "after"],
            default=None,
            help="Writes hang: before (never applied) or after (applied) the change.",
        )
        parser.add_argument("--hang-seconds", type=float, default=30.0)
        parser.add_argument(
            "--token-ttl", type=int, default=30 * 60, help="Lifetime of a new access token (s)."
        )

    def handle(self, *args, **options):
        state = Path(options["state"])
        if options["reset"] and state.exists():
            for suffix in ("", "-wal", "-shm"):
                Path(f"{state}{suffix}").unlink(missing_ok=True)
        app = make_app(
            state,
            imp_key=options["imp_key"],
            imp_secret=options["imp_secret"],
            webhook_url=options["webhook_url"],
        )
        app.faults.update(
            {
                "latency_ms": options["latency_ms"],
                "error_rate": options["error_rate"],
                "hang": options["hang"],
                "hang_seconds": options["hang_seconds"],
                "token_ttl": options["token_ttl"],
            }
        )
        try:
            server = serve(app, options["host"], options["port"])
        except OSError as exc:
            raise CommandError(f"cannot listen on {options['host']}:{options['port']}: {exc}") from exc
        host, port = cast(tuple[str, int], server.server_address[:2])  # AF_INET: (host, port)
        self.stdout.write(f"i'mport sandbox on http://{host}:{port} (state {state})", ending="\n")
        self.stdout.flush()

        def stop(signum, frame):
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()
