"""Exit 0 when PostgreSQL and Redis answer at the given URLs; else print what is missing."""

import sys

import psycopg2
import redis


def main(pg_url: str, redis_url: str) -> int:
    problems = []
    try:
        psycopg2.connect(pg_url.rsplit("/", 1)[0] + "/postgres", connect_timeout=3).close()
    except psycopg2.Error as error:
        problems.append(f"PostgreSQL at {pg_url} unreachable ({str(error).strip()})")
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        problems.append(f"Redis at {redis_url} unreachable ({error})")
    if problems:
        print("; ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
