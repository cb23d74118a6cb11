"""The renewal engine's Celery app: `celery -A merchant_site worker`, `celery -A merchant_site beat`.

Configured from Django's settings (``CELERY_*``). With ``CELERY_BROKER_URL`` empty, tasks run in-process.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "merchant_site.settings")

app = Celery("merchant_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
