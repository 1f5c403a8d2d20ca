# One image for every role: `web` (gunicorn with uvicorn workers), `worker`
# (django-q2 cluster), `migrate`, `simulator`, `manage …`. See bin/docker-entrypoint.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --uid 10001 --create-home --home-dir /home/mjweb mjweb \
 && mkdir -p /app /data/media /data/var /data/simulator \
 && chown -R mjweb:mjweb /data
WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir mjweb gallery simulator && touch mjweb/__init__.py gallery/__init__.py simulator/__init__.py \
 && pip install . && pip uninstall -y mjweb && rm -rf mjweb gallery simulator build

COPY manage.py gunicorn.conf.py ./
COPY bin bin
COPY mjweb mjweb
COPY gallery gallery
COPY simulator simulator
COPY templates templates
COPY static static

# Static files are collected at build time; the build-only key never reaches a container.
RUN DEBUG=False ALLOWED_HOSTS=build SECRET_KEY=build-only-key-not-used-at-runtime-0123456789abcdefghij \
    python manage.py collectstatic --noinput -v0

ENV DEBUG=False \
    MEDIA_ROOT=/data/media \
    MJWEB_VAR_DIR=/data/var

USER mjweb
EXPOSE 8000
VOLUME ["/data/media"]
ENTRYPOINT ["bin/docker-entrypoint"]
CMD ["web"]
