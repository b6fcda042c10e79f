"""A throwaway Dovecot IMAP server for the tests and ``bench_mail``: Debian's
``dovecot-imapd`` started in the foreground (``dovecot -F -c <conf>``) with its own
configuration, mail directory and passwd-file users in a temporary directory, on a free
loopback port, without systemd. The users are written before it starts (Dovecot's
rereading of a changed passwd file proved unreliable within one second): ``add_user``
hands out the next unused one, each with an empty mailbox."""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:~/Maildir
imap_max_line_length = 1M
{users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


def binary() -> str | None:
    return shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.access("/usr/sbin/dovecot", os.X_OK) else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dovecot:
    """``with Dovecot() as server: url = server.add_user()``."""

    PASSWORD = "secret"

    def __init__(self, users: int = 300):
        self.root = Path(tempfile.mkdtemp(prefix="esc-dovecot-"))
        self.port = free_port()
        self.tls_port = 0  # set when openssl made a certificate: implicit TLS here, STARTTLS on ``port``
        self.cert: str | None = None
        self.proc: subprocess.Popen | None = None
        self.users = users
        self._names = itertools.count(1)

    def start(self) -> Dovecot:
        exe = binary()
        if exe is None:
            raise RuntimeError("dovecot is not installed (apt-get install dovecot-imapd)")
        if os.geteuid() == 0:  # mail processes may not run as root: they run as nobody
            owner = pwd.getpwnam("nobody")
            users = ""
        else:  # an ordinary user runs every Dovecot process as itself
            owner = pwd.getpwuid(os.geteuid())
            users = f"default_internal_user = {owner.pw_name}\ndefault_login_user = {owner.pw_name}"
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir()
        os.chown(self.root / "mail", owner.pw_uid, owner.pw_gid)
        os.chmod(self.root, 0o755)
        (self.root / "passwd").write_text(
            "".join(f"desk{n}@mail.test:{{PLAIN}}{self.PASSWORD}\n" for n in range(1, self.users + 1))
        )
        ssl = "ssl = no"
        if self._make_certificate():
            self.tls_port = free_port()
            ssl = f"ssl = yes\nssl_cert = <{self.cert}\nssl_key = <{self.root}/key.pem"
        (self.root / "dovecot.conf").write_text(
            CONFIG.format(
                root=self.root,
                port=self.port,
                tls_port=self.tls_port,
                uid=owner.pw_uid,
                gid=owner.pw_gid,
                users=users,
                ssl=ssl,
            )
        )
        self.proc = subprocess.Popen(
            [exe, "-F", "-c", str(self.root / "dovecot.conf")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.proc.stdout.read().decode(errors='replace')}{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"dovecot did not answer on port {self.port}: {self.log()}")

    def _make_certificate(self) -> bool:
        """A self-signed certificate for ``localhost`` (clients trust it through ``MAIL_CA_FILE``)."""
        if shutil.which("openssl") is None:
            return False
        cert, key = self.root / "cert.pem", self.root / "key.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
        )
        self.cert = str(cert)
        return True

    def tls_url(self, url: str, security: str) -> str:
        """The same mailbox over implicit TLS (``ssl``) or STARTTLS, by the certificate's name."""
        scheme, rest = url.split("://", 1)
        port = self.tls_port if security == "ssl" else self.port
        return f"imap+{security}://" + rest.replace(f"@127.0.0.1:{self.port}/", f"@localhost:{port}/")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def add_user(self, folder: str = "INBOX") -> str:
        """The next unused user (an empty mailbox); returns its ``imap://`` URL for MAILBOX_URLS."""
        number = next(self._names)
        if number > self.users:
            raise RuntimeError(f"all {self.users} users of this Dovecot are taken; start it with more")
        name = f"desk{number}@mail.test"
        return f"imap://{quote(name, safe='')}:{self.PASSWORD}@127.0.0.1:{self.port}/{folder}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
