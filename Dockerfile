# Production image: gunicorn serving Django; the same image runs the Celery worker and beat.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    SPRINTPLAN_VAR_DIR=/var/lib/sprintplan
WORKDIR /app

COPY pyproject.toml constraints.txt README.md ./
COPY sprintplan ./sprintplan
COPY accounts ./accounts
COPY teams ./teams
COPY tickets ./tickets
COPY dependencies ./dependencies
COPY planning ./planning
COPY quality ./quality
COPY integrations ./integrations
COPY templates ./templates
COPY static ./static
COPY manage.py ./

RUN pip install -c constraints.txt . \
    && useradd --system --home /app sprintplan \
    && mkdir -p /var/lib/sprintplan \
    && SECRET_KEY=build-only python manage.py collectstatic --no-input \
    && chown -R sprintplan /var/lib/sprintplan

USER sprintplan
EXPOSE 8000
CMD ["gunicorn", "sprintplan.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
