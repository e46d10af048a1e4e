"""A private PostgreSQL server for the tests (Debian's binaries, 127.0.0.1, a temp folder).

``DEEPRULES_TEST_PG_URL`` (e.g. ``postgresql+psycopg://deeprules@127.0.0.1:5433/postgres``,
as ``.ci/run`` exports it) names a server to use; otherwise one is started with
``initdb``/``pg_ctl`` from ``/usr/lib/postgresql/*/bin`` (as the ``postgres`` system user
when the tests run as root) and stopped at the end. ``python -m tests._pg start|stop DIR``
does the same for ``.ci/run``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

SUPERUSER = "deeprules"


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


def _as_owner(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(folder: str | os.PathLike[str] | None = None) -> tuple[str, Path]:
    """Start a private server; return (SQLAlchemy URL of its ``postgres`` database, folder)."""
    bindir = pg_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin")
    root = Path(folder or tempfile.mkdtemp(prefix="deeprules-pg-"))
    root.mkdir(parents=True, exist_ok=True)
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    os.chmod(root, 0o700)
    subprocess.run(
        _as_owner(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    port = _free_port()
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run(
        _as_owner(
            [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o", opts, "-w", "start"]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/postgres", root


def stop(root: str | os.PathLike[str]) -> None:
    bindir = pg_bin()
    data = Path(root) / "data"
    if bindir is not None and data.exists():
        subprocess.run(
            _as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    shutil.rmtree(root, ignore_errors=True)


def _admin(url: str):  # type: ignore[no-untyped-def]
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return psycopg.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database, autocommit=True
    )


def create_database(server_url: str, template: str | None = None) -> str:
    """A new database on the server (empty, or a copy of ``template``); return its URL."""
    from sqlalchemy.engine import make_url

    name = "t_" + uuid.uuid4().hex[:16]
    copy = f' TEMPLATE "{template}"' if template else ""
    for attempt in range(20):  # CREATE DATABASE fails while another one copies the template
        try:
            with _admin(server_url) as c:
                c.execute(f'CREATE DATABASE "{name}"{copy}')
            break
        except Exception:  # noqa: BLE001 - retried, then raised
            if attempt == 19:
                raise
            time.sleep(0.2)
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, url: str) -> None:
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    with _admin(server_url) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    if sys.argv[1:2] == ["start"]:
        url, _ = start(sys.argv[2])
        print(url)
    elif sys.argv[1:2] == ["stop"]:
        stop(sys.argv[2])
    else:
        sys.exit("usage: python -m tests._pg start|stop FOLDER")
