# Production image: gunicorn serving Django's pages and API (the default command); the same
# image runs uvicorn for the live-update streams, the Celery workers and beat (docker-compose.yml).
# The whole project is copied (.dockerignore keeps out what is not shipped) and installed as
# the wheel would be, so a new app needs no edit here.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    SPRINTPLAN_VAR_DIR=/var/lib/sprintplan
WORKDIR /app

COPY . .

RUN pip install -c constraints.txt . \
    && useradd --system --home /app sprintplan \
    && mkdir -p /var/lib/sprintplan \
    && SECRET_KEY=build-only python manage.py collectstatic --no-input \
    && chown -R sprintplan /var/lib/sprintplan

USER sprintplan
EXPOSE 8000
CMD ["gunicorn", "sprintplan.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", \
     "--graceful-timeout", "10"]
