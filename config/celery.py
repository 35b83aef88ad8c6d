"""The Celery app. Grading runs on the `sandbox` queue, one job per worker process at a time."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("layerlab")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
