"""A real OpenLDAP server for directory tests: Debian's slapd, configured in a temporary folder
(slapd.conf, an mdb database, the core/cosine/inetorgperson schemas of /etc/ldap/schema), on
ldap://127.0.0.1:<free port>, stopped after the test. `make ldap` installs slapd.

`Slapd.seed()` loads the company below; `add_member`, `remove_member` and `set_disabled` change it
the way an administrator would, through ldap3.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import ldap3

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SCHEMAS = Path("/etc/ldap/schema")
BASE = "dc=example,dc=com"
ROOT_DN = f"cn=admin,{BASE}"
ROOT_PW = "test-only-secret"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"

# users: uid -> display name. Groups: cn -> members (users by uid, groups as "group:cn").
USERS = {
    "alice": "Alice Liddell",
    "bob": "Bob Builder",
    "carol": "Carol Danvers",
    "erin": "Erin Brockovich",
}
COMPANY = {
    "eng": ["alice", "group:platform"],
    "platform": ["carol"],
    "sales": ["bob"],
    "loop-a": ["group:loop-b"],  # a nesting cycle: must not hang the sync or groups_of
    "loop-b": ["group:loop-a", "erin"],
}


def user_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


def group_dn(cn: str) -> str:
    return f"cn={cn},{GROUPS}"


def _member_dn(member: str) -> str:
    return group_dn(member[6:]) if member.startswith("group:") else user_dn(member)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Slapd:
    url: str
    proc: subprocess.Popen[bytes]

    def connection(self) -> ldap3.Connection:
        conn = ldap3.Connection(
            ldap3.Server(self.url, get_info=ldap3.NONE), ROOT_DN, ROOT_PW, raise_exceptions=True
        )
        conn.bind()
        return conn

    def seed(self) -> None:
        conn = self.connection()
        try:
            conn.add(BASE, ["dcObject", "organization"], {"o": "Example", "dc": "example"})
            for ou in ("people", "groups"):
                conn.add(f"ou={ou},{BASE}", ["organizationalUnit"], {"ou": ou})
            for uid, name in USERS.items():
                conn.add(
                    user_dn(uid),
                    ["inetOrgPerson"],
                    {"uid": uid, "cn": name, "sn": name.split()[-1]},
                )
            # groupOfNames needs a member when created: add every group with a placeholder
            # (the admin), then its real members, so nested groups may point at each other.
            for cn in COMPANY:
                conn.add(group_dn(cn), ["groupOfNames"], {"cn": cn, "member": [ROOT_DN]})
            for cn, members in COMPANY.items():
                conn.modify(
                    group_dn(cn),
                    {"member": [(ldap3.MODIFY_REPLACE, [_member_dn(m) for m in members])]},
                )
        finally:
            conn.unbind()

    def add_member(self, group: str, member: str) -> None:
        self._modify(group_dn(group), {"member": [(ldap3.MODIFY_ADD, [_member_dn(member)])]})

    def remove_member(self, group: str, member: str) -> None:
        self._modify(group_dn(group), {"member": [(ldap3.MODIFY_DELETE, [_member_dn(member)])]})

    def set_disabled(self, uid: str, disabled: bool) -> None:
        self.set_attribute(uid, "employeeType", ["disabled"] if disabled else [])

    def set_attribute(self, uid: str, attribute: str, values: list[str]) -> None:
        self._modify(user_dn(uid), {attribute: [(ldap3.MODIFY_REPLACE, values)]})

    def delete_user(self, uid: str) -> None:
        conn = self.connection()
        try:
            conn.delete(user_dn(uid))
        finally:
            conn.unbind()

    def _modify(self, dn: str, changes: dict[str, list[tuple[str, list[str]]]]) -> None:
        conn = self.connection()
        try:
            conn.modify(dn, changes)
        finally:
            conn.unbind()


CONF = """\
include {schemas}/core.schema
include {schemas}/cosine.schema
include {schemas}/inetorgperson.schema
pidfile {tmp}/slapd.pid
argsfile {tmp}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 67108864
suffix "{base}"
rootdn "{root}"
rootpw {pw}
directory {tmp}/data
index objectClass eq
"""


@contextmanager
def running_slapd(tmp: Path) -> Iterator[Slapd]:
    """slapd on a free port with an empty ``dc=example,dc=com``; stopped (SIGTERM) on exit."""
    if not Path(SLAPD).exists() or not (SCHEMAS / "inetorgperson.schema").exists():
        raise RuntimeError(
            "slapd is not installed: run `make ldap` (apt-get install slapd ldap-utils)"
        )
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "data").mkdir()
    conf = tmp / "slapd.conf"
    conf.write_text(CONF.format(schemas=SCHEMAS, tmp=tmp, base=BASE, root=ROOT_DN, pw=ROOT_PW))
    port = _free_port()
    url = f"ldap://127.0.0.1:{port}"
    log = open(tmp / "slapd.log", "wb")  # noqa: SIM115 - closed below
    # -d 0: stay in the foreground (so this process owns it) and log nothing but errors.
    proc = subprocess.Popen(
        [SLAPD, "-f", str(conf), "-h", f"{url}/", "-d", "0"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"slapd exited: {(tmp / 'slapd.log').read_text(errors='replace')}"
                )
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("slapd did not listen within 30 s") from None
                time.sleep(0.05)
        yield Slapd(url=url, proc=proc)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
