#!/usr/bin/env python3
"""Creates the PostgreSQL database that DATABASE_URL names when it does not exist yet
(`make serve`); says what to do when PostgreSQL does not answer."""

import os
import sys
from urllib.parse import unquote, urlparse

import psycopg2
from psycopg2 import sql


def main() -> int:
    url = urlparse(os.environ["DATABASE_URL"])
    name = unquote(url.path.lstrip("/"))
    server = {
        "host": url.hostname or "127.0.0.1",
        "port": url.port or 5432,
        "user": unquote(url.username or "postgres"),
        "password": unquote(url.password or "") or None,
    }
    try:
        connection = psycopg2.connect(dbname="postgres", connect_timeout=10, **server)
    except psycopg2.OperationalError as error:
        print(f"PostgreSQL at {server['host']}:{server['port']} does not answer: {error}")
        print("Start it, or point DATABASE_URL at one (see README.md).")
        return 1
    connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"created database {name}")
    finally:
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
