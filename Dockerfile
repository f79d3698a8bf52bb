# Production image: uvicorn serving Django (ASGI: live pages hold a stream each); the same image runs the Celery workers and beat.
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
CMD ["uvicorn", "sprintplan.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "3", \
     "--timeout-graceful-shutdown", "5", "--no-server-header", "--lifespan", "off"]
