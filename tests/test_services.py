"""The Redis and PostgreSQL fixtures (tests/services.py) against real servers,
and what they do when a server is missing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest
import redis
import sqlalchemy as sa
from services import POSTGRES_ADVICE, REDIS_ADVICE
from sqlalchemy.exc import OperationalError

TESTS = Path(__file__).resolve().parent


def test_redis_client_round_trips_a_value(redis_client: redis.Redis) -> None:
    assert redis_client.ping()
    assert redis_client.set("rocketpunch:token", b"sealed", ex=60)
    assert redis_client.get("rocketpunch:token") == b"sealed"
    assert 0 < redis_client.ttl("rocketpunch:token") <= 60
    assert redis_client.delete("rocketpunch:token") == 1
    assert redis_client.get("rocketpunch:token") is None


@pytest.mark.parametrize("run", ["first", "second"])
def test_redis_client_starts_with_an_empty_database(
    redis_client: redis.Redis, run: str
) -> None:
    # Whichever run comes second would see the first one's key.
    assert redis_client.dbsize() == 0
    redis_client.set(f"leftover:{run}", run)


def test_pg_engine_runs_a_query(pg_engine: sa.Engine) -> None:
    with pg_engine.connect() as connection:
        assert connection.execute(sa.text("SELECT 1")).scalar_one() == 1


@pytest.mark.parametrize("run", ["first", "second"])
def test_pg_engine_starts_without_tables(pg_engine: sa.Engine, run: str) -> None:
    # Whichever run comes second would see the first one's table.
    assert sa.inspect(pg_engine).get_table_names() == []
    with pg_engine.begin() as connection:
        connection.execute(sa.text(f"CREATE TABLE leftover_{run} (id int)"))
    assert sa.inspect(pg_engine).get_table_names() == [f"leftover_{run}"]


def test_pg_engine_locks_a_row_with_select_for_update(pg_engine: sa.Engine) -> None:
    tokens = sa.Table(
        "tokens",
        sa.MetaData(),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    tokens.metadata.create_all(pg_engine)
    with pg_engine.begin() as connection:
        connection.execute(tokens.insert().values(key="alice", value="v1"))

    row = sa.select(tokens.c.value).where(tokens.c.key == "alice")
    with pg_engine.connect() as holder, pg_engine.connect() as other:
        with holder.begin():
            locked = holder.execute(row.with_for_update()).scalar_one()
            assert locked == "v1"
            # While the first transaction holds the row, a second one cannot
            # lock it.
            with pytest.raises(OperationalError) as refused, other.begin():
                other.execute(row.with_for_update(nowait=True))
            assert isinstance(refused.value.orig, psycopg.errors.LockNotAvailable)
            holder.execute(
                tokens.update().where(tokens.c.key == "alice").values(value="v2")
            )
        # Committed: the lock is released and the new value is seen.
        with other.begin():
            assert other.execute(row.with_for_update(nowait=True)).scalar_one() == "v2"


# A suite of its own, run in a subprocess: only the two session fixtures, so
# no server is needed to run it.
PROBE = """
def test_redis(redis_url):
    pass

def test_database(database_url):
    pass
"""

PROBE_ARGS = ["-p", "services", "-p", "no:cacheprovider", "-q", "-rs", "test_probe.py"]

UNREACHABLE = {
    "REDIS_URL": "redis://:probe-secret@127.0.0.1:1/0",
    "DATABASE_URL": "postgresql+psycopg://probe:probe-secret@127.0.0.1:1/probe_test",
}


def run_probe(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_probe.py").write_text(textwrap.dedent(PROBE))
    base = {
        name: value
        for name, value in os.environ.items()
        if name not in {"CI", "REDIS_URL", "DATABASE_URL", "PYTEST_ADDOPTS"}
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", *PROBE_ARGS],
        cwd=tmp_path,
        # Only our plugin: no entry-point plugins to load.
        env={
            **base,
            "PYTHONPATH": str(TESTS),
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "env",
    [pytest.param({}, id="unset"), pytest.param(UNREACHABLE, id="unreachable")],
)
def test_a_missing_server_skips_locally(tmp_path: Path, env: dict[str, str]) -> None:
    result = run_probe(tmp_path, env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "2 skipped" in output, output
    assert REDIS_ADVICE in output
    assert POSTGRES_ADVICE in output
    assert "probe-secret" not in output


@pytest.mark.parametrize(
    "env",
    [pytest.param({}, id="unset"), pytest.param(UNREACHABLE, id="unreachable")],
)
def test_a_missing_server_fails_under_ci(tmp_path: Path, env: dict[str, str]) -> None:
    result = run_probe(tmp_path, {**env, "CI": "true"})
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "2 errors" in output, output
    assert "skipped" not in output, output
    assert REDIS_ADVICE in output
    assert POSTGRES_ADVICE in output
    assert "probe-secret" not in output
