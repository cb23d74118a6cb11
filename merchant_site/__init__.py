# Loaded with Django, so that @shared_task binds to this app (no broker: tasks run in-process).
from .celery import app as celery_app

__all__ = ("celery_app",)
