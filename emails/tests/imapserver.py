"""A real IMAP server for tests and benchmarks: Debian's Dovecot, started
by the test run itself (never the system service), on 127.0.0.1 and a free
port, with a throwaway config, users and Maildirs in a temp directory.

Loaded as a pytest plugin (``pytest_plugins`` in the root conftest, or
``-p emails.tests.imapserver``), it gives:

* ``dovecot``: one started :class:`DovecotServer` for the whole session;
* ``imap_account``: a fresh user with its own mailboxes for each test
  (host, port, username, password, server), so tests share no mail state.

The server speaks plain-text LOGIN without TLS (loopback only), advertises
CONDSTORE/QRESYNC and SPECIAL-USE, and every user has INBOX and a ``Sent``
folder flagged ``\\Sent``. Dovecot reports HIGHESTMODSEQ on SELECT once a
client has sent ``ENABLE CONDSTORE`` (or once modseqs are on in that
mailbox), as RFC 7162 allows: code that wants modseqs enables them.

Without Dovecot (``scripts/ensure_dovecot.sh`` installs it) the tests that
need it skip with a loud reason; under CI (CI=true) they fail instead.

Outside pytest (benchmarks)::

    with DovecotServer() as server:
        server.add_user("ana", "secret")
        uids = server.fast_fill("ana", "INBOX", (sample_message(i) for i in range(20_000)))
        with server.client("ana") as imap:
            imap.select_folder("INBOX")
"""
from __future__ import annotations

import atexit
import contextlib
import ctypes
import grp
import itertools
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
from imapclient import IMAPClient

DOVECOT_CANDIDATES = ("/usr/sbin/dovecot",)
DOVEADM_CANDIDATES = ("/usr/bin/doveadm",)
HOST = "127.0.0.1"
START_TIMEOUT = 30.0

# Maildir info flags ("cur/NAME:2,FLAGS") for IMAP's system flags.
MAILDIR_FLAGS = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S", "\\Deleted": "T"}
_MAILDIR_FLAGS_LOWER = {name.lower(): char for name, char in MAILDIR_FLAGS.items()}
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def _binary(candidates: tuple[str, ...], name: str) -> str | None:
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    return shutil.which(name)


def dovecot_binary() -> str | None:
    return _binary(DOVECOT_CANDIDATES, "dovecot")


def doveadm_binary() -> str | None:
    return _binary(DOVEADM_CANDIDATES, "doveadm")


def dovecot_version(binary: str | None = None) -> tuple[int, ...]:
    """The installed Dovecot's version, e.g. (2, 3, 19, 1)."""
    binary = binary or dovecot_binary()
    if not binary:
        raise RuntimeError("Dovecot is not installed")
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.match(r"\s*(\d+(?:\.\d+)+)", out)
    if not match:
        raise RuntimeError(f"cannot parse `dovecot --version`: {out!r}")
    return tuple(int(part) for part in match.group(1).split("."))


def dovecot_missing_reason() -> str | None:
    """Why a test Dovecot cannot run here, or None when it can."""
    if not dovecot_binary():
        return "Dovecot is not installed (/usr/sbin/dovecot; run scripts/ensure_dovecot.sh)"
    if not doveadm_binary():
        return "doveadm is not installed (package dovecot-core; run scripts/ensure_dovecot.sh)"
    try:
        version = dovecot_version()
    except (OSError, subprocess.CalledProcessError, RuntimeError) as exc:
        return f"`dovecot --version` failed: {exc}"
    if version < (2, 3):
        return f"Dovecot {'.'.join(map(str, version))} is too old (need 2.3 or later)"
    if os.geteuid() == 0:
        for user in ("dovecot", "dovenull"):
            try:
                pwd.getpwnam(user)
            except KeyError:
                return f"system user {user!r} is missing (the dovecot-core package creates it)"
    return None


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def virtual_size(raw: bytes) -> int:
    """The message's size with every line ending as CRLF (IMAP's RFC822.SIZE)."""
    return len(raw) + raw.count(b"\n") - raw.count(b"\r\n")


def sample_message(n: int, *, size: int = 2048, sender: str = "Carol Ng <carol@grasspods.example>",
                   to: str = "ana@touchpoints.example", subject: str | None = None,
                   date: datetime | None = None) -> bytes:
    """A plain-text message of about ``size`` bytes with a unique Message-ID."""
    date = date or datetime(2024, 1, 1, tzinfo=UTC)
    head = (
        f"From: {sender}\r\n"
        f"To: {to}\r\n"
        f"Subject: {subject if subject is not None else f'Message {n}'}\r\n"
        f"Date: {format_datetime(date)}\r\n"
        f"Message-ID: <msg-{n}@test.touchpoints.example>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
    ).encode()
    line = f"Line of message {n}: the quick brown fox jumps over the lazy dog.\r\n".encode()
    body = bytearray()
    while len(head) + len(body) + len(line) <= size:
        body += line
    return head + bytes(body)


def _flag_text(flag: bytes | str) -> str:
    return flag.decode() if isinstance(flag, bytes) else flag


def _maildir_info(flags: Iterable[bytes | str]) -> str:
    chars = []
    for flag in flags:
        text = _flag_text(flag)
        try:
            chars.append(_MAILDIR_FLAGS_LOWER[text.lower()])
        except KeyError:
            raise ValueError(f"fast_fill supports the system flags {sorted(MAILDIR_FLAGS)} only, not {text!r}; use append() for keywords") from None
    return "".join(sorted(set(chars)))


def _pdeathsig_preexec():
    """A function for Popen's preexec_fn: Linux then sends the child SIGTERM when the test
    process dies, so a killed test run leaves no Dovecot behind. libc is loaded here, in
    the parent: the child between fork and exec must not import or take locks."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class DovecotServer:
    """One standalone Dovecot (IMAP only) with its config, users and mail in a temp directory.

    Run as root, Dovecot's own processes use the package's ``dovecot`` and
    ``dovenull`` users, and mail is stored as ``mail_user`` (default
    ``nobody``: Dovecot refuses to access mail as UID 0). Run as anyone
    else, everything runs as that user.
    """

    def __init__(self, *, separator: str = "/", mail_user: str = "nobody", host: str = HOST):
        self.host = host
        self.port: int | None = None
        self.separator = separator
        self.binary = dovecot_binary()
        self.doveadm = doveadm_binary()
        if not self.binary or not self.doveadm:
            raise RuntimeError(dovecot_missing_reason() or "Dovecot is not installed")
        self.version = dovecot_version(self.binary)
        self.root: Path | None = None
        self.passwords: dict[str, str] = {}
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._fill_counter = itertools.count()
        # Timings of the last fast_fill: writing the files, then Dovecot's first sync of them.
        self.last_fill: dict[str, float] = {}
        self.is_root = os.geteuid() == 0
        if self.is_root:
            entry = pwd.getpwnam(mail_user)
            self.mail_uid, self.mail_gid = entry.pw_uid, entry.pw_gid
            self.internal_user, self.login_user = "dovecot", "dovenull"
        else:
            self.mail_uid, self.mail_gid = os.getuid(), os.getgid()
            me = pwd.getpwuid(self.mail_uid).pw_name
            self.internal_user = self.login_user = me
        # Dovecot's unix sockets are chowned to this group: the package's
        # `dovecot` group under root, one's own group otherwise.
        self.internal_group = "dovecot" if self.is_root else grp.getgrgid(os.getgid()).gr_name

    # -- lifecycle -------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> DovecotServer:
        if self.running:
            return self
        self.root = Path(tempfile.mkdtemp(prefix="tp-dovecot-"))
        # Dovecot's auth process (user `dovecot` under root) reads the passwd files here.
        self.root.chmod(0o755)
        for sub in ("run", "state", "home", "passwd.d"):
            (self.root / sub).mkdir(mode=0o755)
        atexit.register(self.stop)
        last_error = ""
        for _attempt in range(3):  # another process may grab the free port before Dovecot binds it
            self.port = free_port(self.host)
            self.config_path.write_text(self._config())
            out = open(self.root / "stdout.txt", "ab")  # noqa: SIM115 - closed after the process ends
            try:
                self._proc = subprocess.Popen(
                    [self.binary, "-F", "-c", str(self.config_path)],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True, preexec_fn=_pdeathsig_preexec(),
                )
            finally:
                out.close()
            ok, last_error = self._wait_ready()
            if ok:
                return self
            self._terminate()
            if "in use" not in last_error:
                break
        self.stop()
        raise RuntimeError(f"Dovecot did not start: {last_error}")

    def _wait_ready(self) -> tuple[bool, str]:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False, f"exited with {self._proc.returncode}:\n{self.output()}"
            try:
                with socket.create_connection((self.host, self.port), timeout=2) as sock:
                    if sock.recv(200).startswith(b"* OK"):
                        return True, ""
            except OSError:
                pass
            time.sleep(0.05)
        return False, f"no IMAP greeting on {self.host}:{self.port} within {START_TIMEOUT:.0f}s:\n{self.output()}"

    def output(self) -> str:
        """Dovecot's log and its own stdout/stderr, for error messages."""
        parts = []
        for path in (self.root / "stdout.txt", self.log_path) if self.root else ():
            with contextlib.suppress(OSError):
                parts.append(path.read_text(errors="replace"))
        return "".join(parts)[-5000:]

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # the master stops its children and removes its sockets
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def stop(self) -> None:
        self._terminate()
        atexit.unregister(self.stop)
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> DovecotServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- configuration ---------------------------------------------------

    def _config(self) -> str:
        """A standalone dovecot.conf: nothing from /etc/dovecot is read."""
        r, v24 = self.root, self.version >= (2, 4)
        # Without root Dovecot cannot chroot or switch users: everything runs as us.
        no_chroot = "" if self.is_root else "\n  chroot ="
        if v24:
            # Dovecot 2.4 renamed and regrouped many settings. Written from its
            # documentation, not yet run: Debian 12 ships 2.3.
            versions = "dovecot_config_version = 2.4.0\ndovecot_storage_version = 2.4.0\n"
            cleartext = "auth_allow_cleartext = yes"
            mail = (f"mail_driver = maildir\nmail_path = ~/Maildir\nmail_home = {r}/home/%{{user}}\n"
                    f"mail_uid = {self.mail_uid}\nmail_gid = {self.mail_gid}")
            listen = "listen"
            auth_dbs = f"""passdb passwd-file {{
  passwd_file_path = {r}/passwd.d/%{{user}}
}}
userdb static {{
  userdb_static_allow_all_users = yes
}}"""
            internal_user_ref = "$SET:default_internal_user"
        else:
            versions = ""
            cleartext = "disable_plaintext_auth = no"
            mail = "mail_location = maildir:~/Maildir"
            listen = "address"
            auth_dbs = f"""passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/passwd.d/%u
}}
userdb {{
  driver = static
  args = uid={self.mail_uid} gid={self.mail_gid} home={r}/home/%u allow_all_users=yes
}}"""
            internal_user_ref = "$default_internal_user"
        rootless = "" if self.is_root else f"""
service auth-worker {{
  user = {internal_user_ref}
}}"""
        return f"""# Written by emails/tests/imapserver.py for one test run (Dovecot {".".join(map(str, self.version))}).
{versions}instance_name = touchpoints-test-{self.port}
base_dir = {r}/run
state_dir = {r}/state
log_path = {r}/dovecot.log
info_log_path = {r}/dovecot.log
listen = {self.host}
protocols = imap
ssl = no
# Plain-text LOGIN without TLS: loopback only.
{cleartext}
auth_mechanisms = plain login
# No 2 s delay after a failed login and no growing per-IP penalty: every test logs in from 127.0.0.1.
auth_failure_delay = 0
default_internal_user = {self.internal_user}
default_login_user = {self.login_user}
default_internal_group = {self.internal_group}
first_valid_uid = 1
{mail}
mail_fsync = never
protocol imap {{
  mail_max_userip_connections = 100
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}{no_chroot}
}}
service imap-login {{
  inet_listener imap {{
    {listen} = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}{no_chroot}
}}{rootless}
{auth_dbs}
namespace inbox {{
  inbox = yes
  separator = {self.separator}
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Drafts {{
    special_use = \\Drafts
  }}
  mailbox Trash {{
    special_use = \\Trash
  }}
  mailbox Junk {{
    special_use = \\Junk
  }}
}}
"""

    # -- users -----------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        """A user who can log in at once.

        Each user has its own passwd file: Dovecot rereads a passwd file at most once a
        second, so one shared file would hide users added in the same second.
        """
        if not USERNAME_RE.match(name):
            raise ValueError(f"user name {name!r} must match {USERNAME_RE.pattern}")
        if any(c in password for c in ":\r\n") or not password:
            raise ValueError("password must be non-empty without ':' or line breaks")
        self._require_running()
        with self._lock:
            if name in self.passwords:
                raise ValueError(f"user {name!r} exists already")
            home = self.root / "home" / name
            home.mkdir(mode=0o700)
            if self.is_root:
                os.chown(home, self.mail_uid, self.mail_gid)
            tmp = self.root / "passwd.d" / f".{name}.tmp"
            tmp.write_text(f"{name}:{{PLAIN}}{password}::::::\n")
            tmp.chmod(0o644)
            os.replace(tmp, self.root / "passwd.d" / name)
            self.passwords[name] = password

    def client(self, user: str, *, timeout: float = 30) -> IMAPClient:
        """A logged-in IMAPClient (use it as a context manager to log out)."""
        self._require_running()
        client = IMAPClient(self.host, self.port, ssl=False, timeout=timeout)
        try:
            client.login(user, self.passwords[user])
        except Exception:
            with contextlib.suppress(Exception):
                client.shutdown()
            raise
        return client

    def _require_running(self) -> None:
        if not self.running:
            raise RuntimeError("the Dovecot server is not running (call start())")

    # -- mail ------------------------------------------------------------

    def append(self, user: str, folder: str, raw: bytes, flags=(), msg_time: datetime | None = None) -> int:
        """APPEND one message over IMAP; returns its UID."""
        with self.client(user) as imap:
            response = imap.append(folder, raw, flags=flags, msg_time=msg_time)
        match = re.search(rb"APPENDUID \d+ (\d+)", response)
        if not match:
            raise RuntimeError(f"no APPENDUID in {response!r}")
        return int(match.group(1))

    def mailbox_path(self, user: str, folder: str) -> Path:
        """The folder's Maildir directory, as Dovecot itself resolves it."""
        self._require_running()
        path = self._doveadm("mailbox", "path", "-u", user, folder).strip()
        if not path:
            raise RuntimeError(f"doveadm found no path for {user}'s {folder!r}")
        return Path(path)

    def kick(self, user: str) -> None:
        """Disconnect all of the user's IMAP sessions, as a server restart would."""
        self._doveadm("kick", user)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            # `doveadm who` prints a header line, then a line per connected user.
            if not any(line.split()[:1] == [user] for line in self._doveadm("who", user).splitlines()):
                break
            time.sleep(0.02)

    def _doveadm(self, *args: str) -> str:
        result = subprocess.run([self.doveadm, "-c", str(self.config_path), *args], capture_output=True, text=True)
        if result.returncode not in (0, 68):  # 68: nothing found (no session to kick)
            raise RuntimeError(f"doveadm {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def status(self, user: str, folder: str) -> dict[bytes, int]:
        with self.client(user) as imap:
            return imap.folder_status(folder, ["MESSAGES", "UIDVALIDITY", "UIDNEXT"])

    def fast_fill(self, user: str, folder: str, messages: Iterable[bytes | tuple], *, flags=(),
                  msg_time: datetime | None = None) -> list[int]:
        """Put many messages into ``folder`` (created when missing) quickly by writing the
        Maildir files directly, then let Dovecot index them by selecting the folder once.

        Each item is raw bytes, or ``(raw, flags)`` / ``(raw, flags, msg_time)`` to override
        the defaults; flags are IMAP system flags (``\\Seen`` ...) and msg_time becomes the
        INTERNALDATE. Returns the new messages' UIDs in input order (Dovecot numbers new
        Maildir files in file-name order, and the names sort in input order).
        """
        with self.client(user) as imap:
            if not imap.folder_exists(folder):
                imap.create_folder(folder)
            uidnext = imap.folder_status(folder, ["UIDNEXT"])[b"UIDNEXT"]
        directory = self.mailbox_path(user, folder)
        tmp_dir, cur_dir = directory / "tmp", directory / "cur"
        default_info = _maildir_info(flags)
        default_time = msg_time.timestamp() if msg_time else None
        stamp = int(time.time())
        tag = f"P{os.getpid()}Q{next(self._fill_counter)}"
        host = socket.gethostname().replace("/", "_").replace(":", "_")
        chown = self.is_root
        uid, gid = self.mail_uid, self.mail_gid
        count = 0
        started = time.perf_counter()
        for item in messages:
            if isinstance(item, tuple):
                raw = item[0]
                info = _maildir_info(item[1]) if len(item) > 1 else default_info
                when = (item[2].timestamp() if item[2] else None) if len(item) > 2 else default_time
            else:
                raw, info, when = item, default_info, default_time
            # secs.Musecs sorts like the input order (Dovecot compares the numbers).
            base = f"{stamp + count // 1_000_000}.M{count % 1_000_000:06d}{tag}.{host},S={len(raw)},W={virtual_size(raw)}"
            tmp_path = tmp_dir / base
            fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, raw)
                if chown:
                    os.fchown(fd, uid, gid)
                if when is not None:
                    os.utime(fd, (when, when))
            finally:
                os.close(fd)
            os.rename(tmp_path, cur_dir / f"{base}:2,{info}")
            count += 1
        written = time.perf_counter()
        with self.client(user) as imap:
            imap.enable("CONDSTORE")  # turns modseqs on for this mailbox, as a syncing client would
            imap.select_folder(folder)
            uids = [u for u in imap.search(["UID", f"{uidnext}:*"]) if u >= uidnext] if count else []
        self.last_fill = {"messages": count, "write_s": written - started, "index_s": time.perf_counter() - written}
        if len(uids) != count:
            raise RuntimeError(f"wrote {count} messages into {directory} but Dovecot sees {len(uids)} new ones")
        return sorted(uids)

    def reset_uidvalidity(self, user: str, folder: str) -> int:
        """Give ``folder`` a new UIDVALIDITY, keeping its messages (they are numbered anew
        from UID 1, and modseqs start over), as after a server restore or migration.

        Dovecot keeps a Maildir folder's UIDVALIDITY and UIDs in its dovecot-uidlist and
        indexes: deleting them makes it rebuild both from the message files. The user's
        open IMAP sessions are disconnected first (``doveadm kick``; their next command
        fails with a closed connection), because a session that had the folder selected
        would otherwise hit Dovecot errors on its deleted index. Returns the new UIDVALIDITY.
        """
        before = self.status(user, folder)
        self.kick(user)
        directory = self.mailbox_path(user, folder)
        root = self.mailbox_path(user, "INBOX")  # the Maildir root, also INBOX's directory
        doomed = [p for p in directory.iterdir() if p.name.startswith(("dovecot-uidlist", "dovecot.index"))]
        # The mailbox list index caches every folder's UIDVALIDITY for STATUS; it is rebuilt.
        doomed += [p for p in root.iterdir() if p.name.startswith("dovecot.list.index")]
        for path in doomed:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        with self.client(user) as imap:
            after = imap.select_folder(folder)
        if after[b"UIDVALIDITY"] == before[b"UIDVALIDITY"] or after[b"EXISTS"] != before[b"MESSAGES"]:
            raise RuntimeError(f"reset_uidvalidity({user}, {folder!r}) failed: before {before}, after {after}")
        return after[b"UIDVALIDITY"]


# -- pytest fixtures -------------------------------------------------------

@dataclass
class ImapAccount:
    """A test's own IMAP user on the session's Dovecot."""

    host: str
    port: int
    username: str
    password: str
    server: DovecotServer = field(repr=False)

    def client(self, **kwargs) -> IMAPClient:
        return self.server.client(self.username, **kwargs)

    def append(self, folder: str, raw: bytes, flags=(), msg_time: datetime | None = None) -> int:
        return self.server.append(self.username, folder, raw, flags=flags, msg_time=msg_time)

    def fast_fill(self, folder: str, messages, **kwargs) -> list[int]:
        return self.server.fast_fill(self.username, folder, messages, **kwargs)

    def reset_uidvalidity(self, folder: str) -> int:
        return self.server.reset_uidvalidity(self.username, folder)


_account_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def dovecot():
    reason = dovecot_missing_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"IMAP tests cannot run under CI: {reason}")
        pytest.skip(f"!!! SKIPPED IMAP test: {reason} !!!")
    server = DovecotServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def imap_account(dovecot) -> ImapAccount:
    username = f"user{next(_account_numbers)}-{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(12)
    dovecot.add_user(username, password)
    return ImapAccount(host=dovecot.host, port=dovecot.port, username=username, password=password, server=dovecot)
