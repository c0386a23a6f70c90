"""Settings for the test suite: the embedded defaults, but every file under var/test/ so tests
never touch the demo's database, broker queue, image store or cache. The test database and the
broker folder carry the process id, so two test runs at once do not trample each other."""

import os
from pathlib import Path

_VAR = Path(__file__).resolve().parent.parent / "var" / "test"
os.environ.setdefault("AUDIT_VAR_DIR", str(_VAR))
# Set in the environment so the Celery worker the integration tests start uses the same one.
os.environ.setdefault("AUDIT_BROKER_DIR", str(_VAR / f"broker-{os.getpid()}"))

from audit.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (WhiteNoise warns otherwise)

_db = DATABASES["default"]  # noqa: F405
if _db["ENGINE"].endswith("sqlite3"):
    _db["TEST"] = {"NAME": str(_VAR / f"test_audit_{os.getpid()}.sqlite3")}
else:
    _db["TEST"] = {"NAME": f"test_{_db['NAME']}_{os.getpid()}"}

# Rate limits off: the suite makes many writes as few users, and a cache shared by tests would
# carry counts from one test to the next. The throttling tests switch them on.
API_RATES = {"writes": None, "jobs": None}
