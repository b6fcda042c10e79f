"""A throwaway PostgreSQL server for the fault runs: Debian's binaries
(``/usr/lib/postgresql/<version>/bin``) run on their own data directory in a temporary
directory, on a free loopback port, without systemd, so a test may stop, crash and restart
it, or fill its disk, without touching the shared server. Run as ``postgres`` when we are
root (PostgreSQL refuses to run as root).

``small_tablespace`` mounts a tmpfs of a given size (root only) as a tablespace: a database
created in it runs out of disk space for real (``No space left on device``, SQLSTATE 53100)
while the server's own files and WAL stay on the ordinary disk."""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """``with PgServer() as pg: url = pg.url("db")``; ``restart``, ``crash``, ``start``."""

    def __init__(self):
        self.bin = bindir()
        if self.bin is None:
            raise RuntimeError("PostgreSQL's server binaries are not installed (apt-get install postgresql)")
        self.root = Path(tempfile.mkdtemp(prefix="esc-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.mounts: list[Path] = []
        self.owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
        os.chown(self.root, self.owner.pw_uid, self.owner.pw_gid)

    def _run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        user = self.owner.pw_name if os.geteuid() == 0 else None
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            user=user,
            cwd=self.root,
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
        )

    def start(self) -> PgServer:
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
            # fsync off: the faults here kill the server, not the machine, so nothing the
            # operating system holds is lost; it keeps the runs quick on a busy disk.
            "-c fsync=off -c max_connections=40 -c shared_buffers=32MB"
        )
        done = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        if done.returncode:
            raise RuntimeError(f"PostgreSQL did not start: {done.stderr}{self.log_text()}")
        return self

    def stop(self, mode: str = "fast") -> None:
        """``fast``: sessions are ended (57P01) and the server shuts down cleanly;
        ``immediate``: every server process quits at once, as in a crash, and the next
        start runs crash recovery from the WAL."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self, mode: str = "fast") -> float:
        """Stop and start; the seconds the server was gone."""
        began = time.monotonic()
        self.stop(mode)
        self.start()
        return time.monotonic() - began

    def url(self, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def sql(self, statement: str, db: str = "postgres") -> str:
        """Run one statement with psql; its unaligned output."""
        done = self._run(
            "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
            "-U", "postgres", "-d", db, "-c", statement,
        )  # fmt: skip
        return done.stdout.strip()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def small_tablespace(self, name: str, megabytes: int) -> Path:
        """A tablespace on a tmpfs of ``megabytes`` (needs root: ``mount -t tmpfs``); its mount point."""
        point = self.root / f"fs-{name}"
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m,mode=0755", "tmpfs", str(point)],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            point.rmdir()
            raise PermissionError(f"cannot mount a tmpfs for the tablespace: {done.stderr.strip()}")
        self.mounts.append(point)
        space = point / "pg"
        space.mkdir()
        os.chown(space, self.owner.pw_uid, self.owner.pw_gid)
        self.sql(f"CREATE TABLESPACE {name} LOCATION '{space}'")
        return point

    def close(self) -> None:
        self.stop("immediate")
        for point in self.mounts:
            subprocess.run(["umount", "-l", str(point)], capture_output=True)
        with contextlib.suppress(OSError):
            shutil.rmtree(self.root)

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def fill(point: Path, leave_kb: int) -> Path:
    """Fill a file system up to ``leave_kb`` free with a ballast file (root's, outside
    PostgreSQL's directory); deleting it is how an operator frees the space. Run a
    ``CHECKPOINT`` first, so no page the server still holds in memory needs space later."""
    ballast = point / "ballast"
    with open(ballast, "wb") as fh:
        chunk = b"\0" * (1 << 20)
        try:
            while True:
                fh.write(chunk)
                fh.flush()
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
        fh.truncate(max(0, fh.tell() - leave_kb * 1024))
    return ballast
