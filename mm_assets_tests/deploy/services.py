"""Real servers for the deployment tests, started natively on loopback and always stopped:
PostgreSQL from the machine's own binaries, Redis, and Dagster's processes.

Each `Service` runs in its own session (process group), logs to a file, and `stop()` ends it with
every process it started (run workers, celery pool processes), even those that left its group.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

import psutil

POSTGRES_BIN_ENV = "MM_TEST_PG_BIN"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServiceError(RuntimeError):
    """A service did not start; the message ends with its log."""


class Service:
    """One server process, its log, and a stop that leaves nothing behind."""

    def __init__(self, name: str, argv: list[str], *, env: dict[str, str], log_path: Path,
                 cwd: Optional[Path] = None, user: Optional[str] = None,
                 stop_signal: int = signal.SIGTERM) -> None:
        self.name, self.argv, self.env, self.log_path, self.cwd, self.user = name, argv, env, log_path, cwd, user
        self.stop_signal = stop_signal
        self.process: Optional[subprocess.Popen] = None
        self._seen: dict[int, psutil.Process] = {}

    def start(self) -> "Service":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, **_as_user(self.user))
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_until(self, ready: Callable[[], bool], *, timeout: float, what: str) -> None:
        """Poll `ready` until it is true; fail with the log if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise ServiceError(f"{self.name} exited ({self.process.returncode}) before {what}:\n{self.log_tail()}")
            try:
                if ready():
                    return
            except ServiceError:  # ready() saw a failure that waiting will not mend
                raise
            except Exception:  # not ready yet (connection refused, a half-started server)
                pass
            time.sleep(0.2)
        raise ServiceError(f"{self.name}: no {what} after {timeout:.0f} s:\n{self.log_tail()}")

    def tree(self) -> list[psutil.Process]:
        """The process and its descendants now (remembered, so that stop() finds them later)."""
        if not self.alive():
            return list(self._seen.values())
        try:
            root = psutil.Process(self.pid)
            for process in [root, *root.children(recursive=True)]:
                self._seen.setdefault(process.pid, process)
        except psutil.NoSuchProcess:
            pass
        return list(self._seen.values())

    def stop(self, timeout: float = 30) -> None:
        """The graceful signal to the process; then SIGTERM, then SIGKILL, to its group and to every
        descendant seen, whatever is still there."""
        if self.process is None:
            return
        processes = self.tree()
        if self.alive():
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            for process in processes:
                try:
                    process.send_signal(sig)
                except psutil.NoSuchProcess:
                    pass
            _, alive = psutil.wait_procs(processes, timeout=wait)
            if not alive and not self.alive():
                break
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def _as_user(user: Optional[str]) -> dict:
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def find_postgres_bin() -> Optional[Path]:
    """The folder with `initdb` and `postgres`: $MM_TEST_PG_BIN, Debian's newest, or on PATH."""
    candidates = []
    if os.environ.get(POSTGRES_BIN_ENV):
        candidates.append(Path(os.environ[POSTGRES_BIN_ENV]))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name)
                         if p.parent.name.isdigit() else 0, reverse=True)
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb")).resolve().parent)
    return next((c for c in candidates if (c / "initdb").is_file() and (c / "postgres").is_file()), None)


def unprivileged_user() -> Optional[str]:
    """PostgreSQL refuses to run as root: as root, run it as `postgres` (Debian's) or `nobody`."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise ServiceError("running as root and neither a `postgres` nor a `nobody` user exists for PostgreSQL")


class PostgresServer:
    """A throwaway PostgreSQL cluster on 127.0.0.1 with password (scram-sha-256) authentication.

    Its folder is made outside pytest's tmp (whose root is private to root), owned by the user the
    server runs as. fsync is off: the cluster lives only as long as the test session.
    """

    USER = "dagster"

    def __init__(self, bin_dir: Path, log_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.os_user = unprivileged_user()
        self.root = Path(tempfile.mkdtemp(prefix="mm-pg-"))
        self.data_dir = self.root / "data"
        self.port = free_port()
        self.password = secrets.token_urlsafe(24)
        self.service = Service(
            "postgres",
            [str(bin_dir / "postgres"), "-D", str(self.data_dir), "-h", "127.0.0.1", "-p", str(self.port),
             "-k", str(self.root), "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=300"],
            env={"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"}, log_path=log_dir / "postgres.log",
            cwd=self.root, user=self.os_user, stop_signal=signal.SIGINT)  # SIGINT: fast shutdown

    def start(self) -> "PostgresServer":
        password_file = self.root / "pwfile"
        password_file.write_text(self.password + "\n")
        if self.os_user is not None:
            entry = pwd.getpwnam(self.os_user)
            for path in (self.root, password_file):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        password_file.chmod(0o600)
        init = subprocess.run(
            [str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", self.USER, f"--pwfile={password_file}",
             "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8", "--no-locale"],
            capture_output=True, text=True, cwd=self.root, env={"PATH": os.environ.get("PATH", "")},
            **_as_user(self.os_user), timeout=180)
        password_file.unlink()
        if init.returncode != 0:
            raise ServiceError(f"initdb failed ({init.returncode}):\n{init.stdout}\n{init.stderr}")
        self.service.start()
        self.service.wait_until(lambda: bool(self.connect("postgres").close() or True), timeout=60,
                                what="connection on 127.0.0.1")
        return self

    def connect(self, db_name: str):
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user=self.USER, password=self.password,
                                dbname=db_name, connect_timeout=5)

    def create_database(self, name: str) -> dict[str, str]:
        """A new database; returns the DAGSTER_PG_* variables dagster.yaml reads for it."""
        connection = self.connect("postgres")
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(self.port), "DAGSTER_PG_DB": name,
                "DAGSTER_PG_USERNAME": self.USER, "DAGSTER_PG_PASSWORD": self.password}

    def stop(self) -> None:
        try:
            self.service.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    """redis-server on 127.0.0.1 with a password, nothing persisted."""

    def __init__(self, binary: str, work_dir: Path) -> None:
        self.port = free_port()
        self.password = secrets.token_urlsafe(24)
        self.service = Service(
            "redis",
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--requirepass", self.password,
             "--save", "", "--appendonly", "no", "--dir", str(work_dir)],
            env={"PATH": os.environ.get("PATH", "")}, log_path=work_dir / "redis.log", cwd=work_dir)

    def url(self, db: int) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/{db}"

    def start(self) -> "RedisServer":
        import redis

        self.service.start()
        self.service.wait_until(lambda: redis.Redis.from_url(self.url(0), socket_timeout=2).ping(),
                                timeout=30, what="PING answered")
        return self

    def stop(self) -> None:
        self.service.stop()
