"""Settings for the test suite: the embedded defaults, but every file under var/test/ so tests
never touch the demo's database, broker queue, image store or cache."""

import os
from pathlib import Path

os.environ.setdefault("AUDIT_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))

from audit.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (WhiteNoise warns otherwise)
