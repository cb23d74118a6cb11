"""``python -m tests.engine.rate_client THREADS CALLS``: THREADS threads, each reading i'mport CALLS times
through the site's client (settings from the environment), as fast as the rate limit lets them."""

import contextlib
import sys
import threading

import django


def main(threads: int, calls: int) -> None:
    django.setup()
    from billing.iamport import get_client
    from billing.iamport.errors import IamportNotFound

    client = get_client()
    client.access_token()  # the token first: the test counts reads

    def read() -> None:
        for _ in range(calls):
            with contextlib.suppress(IamportNotFound):
                client.find_payment("rate-limit-probe")

    workers = [threading.Thread(target=read) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
