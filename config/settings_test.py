"""Test settings: the same as production's shape, on a Redis database of their own so a
running dev worker never picks up a test's job (and vice versa)."""

import os

os.environ.setdefault("REDIS_URL", os.environ.get("LAYERLAB_TEST_REDIS_URL", "redis://127.0.0.1:6379/14"))
os.environ.setdefault("LAYERLAB_CHANNEL_PREFIX", "layerlab-test")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
