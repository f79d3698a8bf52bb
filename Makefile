.PHONY: run test lint worker beat screenshots

run:            ## the app on the embedded default (SQLite, in-process tasks, demo data)
	scripts/run.sh

test:           ## the whole suite: SQLite pass, then PostgreSQL + Redis + real worker
	scripts/test.sh

lint:
	scripts/bootstrap.sh && .venv/bin/ruff check .

worker:         ## a Celery worker (needs REDIS_URL and DATABASE_URL)
	.venv/bin/celery -A sprintplan worker --loglevel=INFO

beat:           ## the periodic catch-up recompute (needs REDIS_URL)
	.venv/bin/celery -A sprintplan beat --loglevel=INFO

screenshots:    ## pictures of the pages of a running app into docs/screenshots/
	.venv/bin/python scripts/screenshots.py
