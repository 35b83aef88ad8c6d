"""The Celery app. Grading runs on the `sandbox` queue, one job per worker process at a time."""

import os
import resource

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("layerlab")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def limit_address_space(**_: object) -> None:
    """Each pool process gets a hard cap on its address space (LAYERLAB_WORKER_MEMORY_MAX), so a
    submission that got past every bound on reading it raises MemoryError in that process
    instead of growing until the host's OOM killer picks something. Hard, so nothing in the
    process can raise it again; never above a hard limit the worker was started with."""
    from django.conf import settings

    limit = settings.LAYERLAB_WORKER_MEMORY_MAX
    if limit <= 0:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
