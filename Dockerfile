# One image for web, migrate, workers, beat and flower: docker-compose.yml changes only the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Non-root at run time. /data is created here, owned by that user, so a fresh named volume mounted
# on it (image store, uploads) inherits the ownership and is writable.
RUN useradd --create-home --uid 1000 audit \
    && mkdir /data \
    && chown audit:audit /data

# WeasyPrint (PDF quality reports) needs Pango, HarfBuzz, fontconfig and fonts: DejaVu for Latin,
# WenQuanYi Micro Hei for a report in Chinese.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b \
       libfontconfig1 fonts-dejavu-core fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# The dependencies, exactly as pinned (with sha256 hashes) in requirements/base.lock: pyproject.toml's
# plus flower, which is for operators only, and pip and setuptools themselves (`make lock`
# regenerates it). A layer of its own, rebuilt only when the lock changes.
COPY requirements/base.lock /app/requirements/base.lock
RUN pip install --require-hashes -r requirements/base.lock

# Then the project, without dependencies or a build environment fetched from the index. Build
# leftovers are removed so /app holds only the sources.
COPY . /app
RUN pip install --no-deps --no-build-isolation . \
    && rm -rf build ./*.egg-info

# Run the code from /app rather than site-packages: settings find templates/ beside the package,
# and the wheel carries only Python files.
ENV PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=audit.settings \
    AUDIT_VAR_DIR=/data \
    STATIC_ROOT=/app/staticfiles

# Static files are baked into the image (served by WhiteNoise), outside the /data volume so a new
# image never serves stale ones. The scratch var dir (and the key made in it) exist for this step only.
RUN AUDIT_VAR_DIR=/tmp/build-var \
    python manage.py collectstatic --noinput \
    && rm -rf /tmp/build-var

USER audit
EXPOSE 8000
CMD ["gunicorn", "audit.wsgi", "--bind", "0.0.0.0:8000", "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-"]
