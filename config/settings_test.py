"""Test settings: the same as production's shape, on a Redis database of their own so a
running dev worker never picks up a test's job (and vice versa)."""

import os

os.environ.setdefault("REDIS_URL", os.environ.get("LAYERLAB_TEST_REDIS_URL", "redis://127.0.0.1:6379/14"))
# Keys of this test run only (the children it starts inherit them): a worker or web process
# left running by an earlier run on the same Redis database cannot take this run's tasks.
os.environ.setdefault("LAYERLAB_CHANNEL_PREFIX", f"layerlab-test-{os.getpid()}")
os.environ.setdefault("LAYERLAB_BROKER_PREFIX", f"test-{os.getpid()}:")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Fast takeover of a killed worker's submission, so the tests that kill one finish quickly.
LAYERLAB_HEARTBEAT_SECONDS = 1
LAYERLAB_HEARTBEAT_STALE_SECONDS = 8
LAYERLAB_SWEEP_SECONDS = 5
CELERY_BEAT_SCHEDULE["sweep-stuck-submissions"]["schedule"] = LAYERLAB_SWEEP_SECONDS  # noqa: F405
