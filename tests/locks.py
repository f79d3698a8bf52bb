"""Holding a database lock from another connection while a test acts."""

import threading
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def held_elsewhere(take_lock):
    """Run `take_lock()` in a transaction of another thread (its own connection) and keep
    that transaction open, with whatever it locked, until the block ends."""
    held, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                take_lock()
                held.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(5), "the other transaction did not get its lock"
        yield
    finally:
        release.set()
        holder.join()


@contextmanager
def waiting_at_most(timeout: str):
    """This connection waits at most `timeout` (PostgreSQL's syntax, e.g. '2s') for a row lock
    inside the block: a statement that would queue behind another transaction fails instead."""
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = %s", [timeout])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
