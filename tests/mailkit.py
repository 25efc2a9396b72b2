"""Helpers for the mail connector tests: messages built with the stdlib `email` package, and a real
Dovecot IMAP server (Debian's ``dovecot-imapd``, `make mailserver`) run from a private config.

`running_dovecot()` writes a dovecot.conf into a fresh folder: IMAP only, on 127.0.0.1 and a free
port, no TLS, one user from a passwd-file with a plaintext password, mail kept as Maildir in that
folder. It starts ``dovecot -F -c CONF`` (foreground), waits for the IMAP greeting and always
stops it. As root, Dovecot will not run its login and mail processes as root, so it uses the
``dovecot``/``dovenull`` users that the Debian package creates; as another user, that user.
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

USER = "support"
PASSWORD = "s3cret-test-password"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def message(
    mid: str,
    subject: str,
    body: str,
    *,
    sender: str = "Ann Lee <ann@customer.example>",
    to: str = "Support <support@example.com>",
    minutes: int = 0,
    reply_to: list[str] | None = None,
    in_reply_to: bool = True,
    html: str | None = None,
    attachments: list[tuple[str, bytes, str]] = (),  # type: ignore[assignment]
) -> bytes:
    """An RFC 5322 message; ``reply_to`` lists the ids it answers, root first (References)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(T0 + timedelta(minutes=minutes))
    msg["Message-ID"] = f"<{mid}>"
    if reply_to:
        msg["References"] = " ".join(f"<{r}>" for r in reply_to)
        if in_reply_to:
            msg["In-Reply-To"] = f"<{reply_to[-1]}>"
    if body or html is None:
        msg.set_content(body)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    else:
        msg.set_content(html, subtype="html")  # an HTML-only message
    for name, data, ctype in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


@dataclass(frozen=True)
class Dovecot:
    host: str
    port: int  # IMAP (STARTTLS offered when started with tls=True)
    user: str
    password: str
    log: Path
    tls_port: int = 0  # IMAPS, with tls=True
    ca_file: Path | None = None  # the self-signed certificate the server presents


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _binary() -> str:
    found = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    if not found:
        pytest.fail("dovecot not found: run `make mailserver` (apt-get install -y dovecot-imapd)")
    return found


def _accounts() -> tuple[str, str, int, int]:
    """Dovecot's internal user, its login user, and the uid/gid that owns the mail."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, me.pw_name, me.pw_uid, me.pw_gid
    try:
        internal = pwd.getpwnam("dovecot")
        pwd.getpwnam("dovenull")
    except KeyError:
        pytest.fail("the dovecot and dovenull users are missing: reinstall dovecot-core")
    return "dovecot", "dovenull", internal.pw_uid, internal.pw_gid


CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:{root}/home/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
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
  }}
}}
service anvil {{
  chroot =
}}
"""


def _certificate(root: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl comes with dovecot-core)."""
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@contextlib.contextmanager
def running_dovecot(tls: bool = False) -> Iterator[Dovecot]:
    """Dovecot on 127.0.0.1; with ``tls``, also IMAPS and STARTTLS with a self-signed certificate."""
    binary = _binary()
    internal, login, uid, gid = _accounts()
    # Not under pytest's tmp_path: its parents are 0700, and Dovecot's mail processes run as
    # another user when the tests run as root.
    root = Path(tempfile.mkdtemp(prefix="latentsearch-dovecot-"))
    root.chmod(0o755)
    (root / "home").mkdir()
    os.chown(root / "home", uid, gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    port = _free_port()
    tls_port = _free_port() if tls else 0
    ssl = "ssl = no"
    cert: Path | None = None
    if tls:
        cert, key = _certificate(root)
        ssl = f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}"
    group = _group_name(gid)
    conf = root / "dovecot.conf"
    conf.write_text(
        CONF.format(
            root=root,
            internal=internal,
            login=login,
            group=group,
            uid=uid,
            gid=gid,
            port=port,
            tls_port=tls_port,
            ssl=ssl,
        )
    )
    proc = subprocess.Popen(
        [binary, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    log = root / "dovecot.log"
    try:
        _wait_ready(proc, port, log)
        yield Dovecot("127.0.0.1", port, USER, PASSWORD, log, tls_port, cert)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def _group_name(gid: int) -> str:
    import grp

    return grp.getgrgid(gid).gr_name


def _wait_ready(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            text = log.read_text(errors="replace") if log.exists() else ""
            pytest.fail(f"dovecot exited with {proc.returncode}:\n{out}\n{text}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=2) as s,
        ):
            if s.recv(200).startswith(b"* OK"):
                return
        time.sleep(0.1)
    pytest.fail(
        f"dovecot did not greet on port {port} within 30 s:\n{log.read_text(errors='replace') if log.exists() else ''}"
    )
