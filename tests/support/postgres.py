"""A throw-away PostgreSQL server for tests: initdb into a temp dir, start on loopback, stop.

Reusable outside the data tests (tuning tests use it for Optuna's RDB storage)::

    from tests.support.postgres import postgres_server
    with postgres_server() as url:  # postgresql+psycopg://ash@127.0.0.1:PORT/postgres
        ...

Each call starts its own server on its own free port with its own socket directory, so pytest-xdist
workers do not collide. Server binaries are found with ``pg_config --bindir``, in
``/usr/lib/postgresql/*/bin`` or next to ``/usr/local/bin/pg_ctl``; if there are none, we try
``apt-get install -y postgresql`` (running ``apt-get update`` first if that fails). PostgreSQL
refuses to run as root, so as root the server runs as the ``postgres`` system user (created if
missing) via ``runuser``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PG_USER = "ash"  # the database superuser created by initdb


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server binaries could be found or installed."""


def find_bindir() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or None."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    pg_ctl = Path("/usr/local/bin/pg_ctl")
    if pg_ctl.exists():
        candidates.append(pg_ctl.resolve().parent)
    for d in candidates:
        if (d / "initdb").exists() and (d / "pg_ctl").exists():
            return d
    return None


def ensure_bindir() -> Path:
    """Find server binaries, installing the Debian ``postgresql`` package if there are none."""
    found = find_bindir()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise PostgresUnavailableError(
            "PostgreSQL server binaries not found and cannot install them here; "
            "install the 'postgresql' package"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "postgresql"]
    if subprocess.run(cmd, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
        subprocess.run(cmd, env=env, capture_output=True, check=True)
    found = find_bindir()
    if not found:
        raise PostgresUnavailableError("installed postgresql but found no initdb/pg_ctl")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> list[str]:
    """Command prefix to run server tools as a non-root user when we are root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "postgres"], check=True, capture_output=True
        )
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--"]
    return ["su", "postgres", "-s", "/bin/sh", "-c"]  # pragma: no cover - rare fallback


def _call(prefix: list[str], args: list[str]) -> subprocess.CompletedProcess[str]:
    if prefix and prefix[0] == "su":
        cmd = [*prefix, " ".join(f"'{a}'" for a in args)]
    else:
        cmd = [*prefix, *args]
    # Own session: the server must not share the test runner's process group (signals meant
    # for one must never reach the other).
    return subprocess.run(cmd, capture_output=True, text=True, check=False, start_new_session=True)


@contextlib.contextmanager
def postgres_server(base_dir: Path | None = None, attempts: int = 3) -> Iterator[str]:
    """Start a private PostgreSQL server; yield its SQLAlchemy URL; stop and delete it after."""
    bindir = ensure_bindir()
    prefix = _run_as()
    root = Path(tempfile.mkdtemp(prefix="ash-pg-", dir=base_dir))
    data, sock, logfile = root / "data", root / "sock", root / "server.log"
    sock.mkdir()
    if prefix:
        pw = pwd.getpwnam("postgres")
        for p in (root, sock):
            os.chown(p, pw.pw_uid, pw.pw_gid)
    root.chmod(0o755)
    init = _call(
        prefix,
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            PG_USER,
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ],
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise PostgresUnavailableError(f"initdb failed: {init.stderr or init.stdout}")
    started = False
    port = 0
    last_error = ""
    try:
        for _ in range(attempts):  # a free port can be taken between probe and bind: retry
            port = free_port()
            opts = (
                f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off"
            )
            res = _call(
                prefix,
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    opts,
                    "-l",
                    str(logfile),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            )
            if res.returncode == 0:
                started = True
                break
            last_error = res.stderr + (logfile.read_text() if logfile.exists() else "")
            time.sleep(0.5)
        if not started:
            raise PostgresUnavailableError(f"PostgreSQL did not start: {last_error}")
        yield f"postgresql+psycopg://{PG_USER}@127.0.0.1:{port}/postgres"
    finally:
        if started:
            _call(
                prefix, [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            )
        shutil.rmtree(root, ignore_errors=True)
