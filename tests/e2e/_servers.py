"""Real servers for the browser tests: the app, nginx in front of it, a page settle helper.

Every server gets a free port from the OS and is stopped when its context ends, so tests of
several helpers can run at the same time on one machine.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


@contextmanager
def streamlit_app(
    home: Path,
    *,
    address: str = "127.0.0.1",
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    log: Path | None = None,
    port: int | None = None,
) -> Iterator[str]:
    """Run ``streamlit run app.py`` (on a free port unless given); yields the URL to reach it."""
    port = port or free_port()
    full_env = dict(os.environ, DEEPRULES_HOME=str(home), PYTHONPATH=str(ROOT))
    full_env.pop("DEEPRULES_DB_URL", None)
    full_env.pop("DEEPRULES_AUTH", None)
    full_env.update(env or {})
    out = open(log, "wb") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            address,
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
            *args,
        ],
        cwd=ROOT,
        env=full_env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/_stcore/health", proc=proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log is not None:
            out.close()  # type: ignore[union-attr]


NGINX_CONF = """
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 1024m;
        auth_basic "deeprules";
        auth_basic_user_file {tmp}/htpasswd;
        location / {{
            proxy_pass http://127.0.0.1:{app_port};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-User $remote_user;
            proxy_read_timeout 86400;
        }}
    }}
}}
"""


@contextmanager
def nginx_proxy(tmp: Path, app_url: str, users: Mapping[str, str]) -> Iterator[str]:
    """Debian's nginx on a free port: HTTP basic sign-in, then the user name in
    X-Forwarded-User to the app (the header a client sends itself is replaced)."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "htpasswd").write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in users.items()))
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            user="user root;" if os.geteuid() == 0 else "",
            tmp=tmp,
            port=port,
            app_port=app_url.rsplit(":", 1)[1],
        )
    )
    proc = subprocess.Popen(
        [NGINX, "-c", str(conf), "-p", str(tmp), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def settle(page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished running the script: the running icon has been
    absent for 1.5 s in a row."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    quiet_since = None
    while time.monotonic() < deadline:
        running = page.locator('[data-testid="stStatusWidgetRunningIcon"]').count() > 0
        now = time.monotonic()
        if running:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since > 1.5:
            return
        page.wait_for_timeout(200)
    raise AssertionError("the page was still running after the timeout")


def no_error(page, where: str) -> None:
    """The page shows no exception and no traceback."""
    assert page.locator('[data-testid="stException"]').count() == 0, f"exception shown on {where}"
    assert "Traceback" not in page.inner_text("body"), f"traceback shown on {where}"


def create_study(page, base_url: str, name: str) -> str:
    """Create a study on the Study page; returns its id (from the URL)."""
    page.goto(base_url)
    settle(page)
    page.get_by_role("tab", name="New study").click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create study").click()
    settle(page)
    page.wait_for_url("**study=*", timeout=30_000)
    return page.url.split("study=")[-1].split("&")[0]
