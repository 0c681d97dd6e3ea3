"""Signed checkpoints of the audit log, kept outside the database (after the signed tree
heads of Certificate Transparency): what makes cutting entries off the end, or re-hashing
the chain, visible.

A checkpoint names the chain's head at a moment: how many entries it holds (`count`), the
newest entry's id and hash, the time, the hash of the checkpoint before it (`prev`, so
the checkpoints form a chain of their own), signed with an Ed25519 key that lives in a
file (never in the database; `audit_key_path`). Two files beside it:

- `audit.head`: the newest checkpoint, rewritten (atomically) after every commit that
  appended entries, so that cutting off even the latest entries is seen;
- `audit.checkpoints`: append-only, one JSON line per checkpoint, one every
  `audit_checkpoint_every` entries or every `CHECKPOINT_SECONDS` (whichever comes first),
  not one per commit: every API call appends a `token.use` entry, and a line per call
  would grow the file by gigabytes a day. The head chains to the last line.

Someone who controls the instance folder has the key and can re-sign a rewritten log;
what catches them is a copy the authority published earlier (`portal audit checkpoints
--export`): `portal audit verify --checkpoints FILE --public-key KEY`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

try:  # one writer at a time across processes (gunicorn's workers); absent on Windows
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

GENESIS = "0" * 64
CHECKPOINT_SECONDS = 600
MAX_LINE = 4096  # a checkpoint line is ~400 bytes; a longer one is not ours
MAX_CHECKPOINTS = 10_000_000  # bound on what `verify` reads from a (witness) file
SIGNED_FIELDS = ("count", "head_id", "head", "at", "prev", "key")

# How many committed audit entries follow entry `id`, up to the head being checkpointed.
CountSince = Callable[[int], int]


class CheckpointError(Exception):
    """A checkpoint file that cannot be read as ours (bad JSON, too long a line)."""


@dataclass(frozen=True)
class Checkpoint:
    count: int  # entries in the chain up to and including head_id
    head_id: int
    head: str  # the hash of entry head_id
    at: str  # ISO time, UTC
    prev: str  # line_hash of the checkpoint before, GENESIS for the first
    key: str  # key_id of the signing key
    sig: str = ""  # base64 Ed25519 signature over `signed_bytes`

    def signed_bytes(self) -> bytes:
        body = {name: getattr(self, name) for name in SIGNED_FIELDS}
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    def line(self) -> str:
        body = {name: getattr(self, name) for name in (*SIGNED_FIELDS, "sig")}
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    def line_hash(self) -> str:
        return hashlib.sha256(self.line().encode()).hexdigest()

    def signed_by(self, public_key: Ed25519PublicKey) -> bool:
        try:
            public_key.verify(base64.b64decode(self.sig, validate=True), self.signed_bytes())
        except (InvalidSignature, ValueError):
            return False
        return True

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        if len(text) > MAX_LINE:
            raise CheckpointError("a checkpoint line is too long")
        try:
            data = json.loads(text)
            return cls(
                count=int(data["count"]),
                head_id=int(data["head_id"]),
                head=str(data["head"]),
                at=str(data["at"]),
                prev=str(data["prev"]),
                key=str(data["key"]),
                sig=str(data["sig"]),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise CheckpointError(f"not a checkpoint: {text[:80]!r}") from error


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key(path: Path) -> Ed25519PublicKey:
    loaded = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(loaded, Ed25519PublicKey):
        raise CheckpointError(f"{path} is not an Ed25519 public key")
    return loaded


def read_checkpoints(path: Path) -> Iterator[Checkpoint]:
    """The checkpoints of a file, in order; bounded in line length and count."""
    with path.open("r", encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if number > MAX_CHECKPOINTS:
                raise CheckpointError(f"{path}: more than {MAX_CHECKPOINTS} checkpoints")
            if text.strip():
                yield Checkpoint.parse(text.strip())


def chain_problems(
    checkpoints: list[Checkpoint], public_key: Ed25519PublicKey, where: str
) -> list[str]:
    """What is wrong with a list of checkpoints on its own: signatures, their chain, order."""
    problems: list[str] = []
    expected_prev = GENESIS
    previous: Checkpoint | None = None
    for number, checkpoint in enumerate(checkpoints, start=1):
        if not checkpoint.signed_by(public_key):
            problems.append(f"checkpoint {number} of {where}: its signature does not verify")
        if checkpoint.prev != expected_prev:
            problems.append(
                f"checkpoint {number} of {where} does not follow the one before it "
                "(checkpoints were removed or edited)"
            )
        if previous is not None and (
            checkpoint.head_id < previous.head_id or checkpoint.count < previous.count
        ):
            problems.append(f"checkpoint {number} of {where} goes back in the log")
        expected_prev = checkpoint.line_hash()
        previous = checkpoint
    return problems


_PROCESS_LOCK = threading.Lock()


@dataclass(frozen=True)
class CheckpointLog:
    """The instance's checkpoint files and signing key (see the module's docstring)."""

    folder: Path  # holds audit.head and audit.checkpoints
    key_path: Path
    every: int = 1000  # entries between two lines of audit.checkpoints

    @property
    def head_path(self) -> Path:
        return self.folder / "audit.head"

    @property
    def lines_path(self) -> Path:
        return self.folder / "audit.checkpoints"

    # -- the key ---------------------------------------------------------------------------
    def private_key(self) -> Ed25519PrivateKey | None:
        try:
            pem = self.key_path.read_bytes()
        except FileNotFoundError:
            return None
        loaded = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise CheckpointError(f"{self.key_path} is not an Ed25519 private key")
        return loaded

    def public_key(self) -> Ed25519PublicKey | None:
        private = self.private_key()
        return private.public_key() if private is not None else None

    def _create_key(self) -> Ed25519PrivateKey:
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self.key_path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: never replace a key that exists (its checkpoints would stop verifying)
        fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        return private

    # -- reading ---------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.head_path.exists() or self.lines_path.exists()

    def lines(self) -> list[Checkpoint]:
        if not self.lines_path.exists():
            return []
        return list(read_checkpoints(self.lines_path))

    def last_line(self) -> Checkpoint | None:
        """The last line of audit.checkpoints, read from the file's end (a commit needs
        only that one, however long the file has grown)."""
        try:
            with self.lines_path.open("rb") as lines:
                size = lines.seek(0, os.SEEK_END)
                lines.seek(max(0, size - 2 * MAX_LINE))
                tail = lines.read().decode("utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return None
        last = next((text for text in reversed(tail) if text.strip()), None)
        return Checkpoint.parse(last.strip()) if last is not None else None

    def head(self) -> Checkpoint | None:
        try:
            text = self.head_path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return Checkpoint.parse(text) if text else None

    def all(self) -> list[Checkpoint]:
        """Every line of audit.checkpoints, then the head if it is newer than the last."""
        lines = self.lines()
        head = self.head()
        if head is not None and (not lines or head.prev == lines[-1].line_hash()):
            lines.append(head)
        return lines

    # -- writing ---------------------------------------------------------------------------
    def advance(
        self, head_id: int, head_hash: str, count_since: CountSince, *, start: bool
    ) -> None:
        """Sign a checkpoint of the head `head_id` just committed. `count_since(id)` counts
        the committed entries after entry `id` up to head_id. `start`: the head's commit
        began the chain (or an operator asked, `portal audit checkpoints --start`), so a
        missing log or key may be begun; otherwise a missing one stays missing and
        `verify` says so (someone deleted it)."""
        with self._locked():
            last_head = self.head()
            if last_head is not None and last_head.head_id >= head_id:
                return  # a later commit got there first: the head only moves forward
            last_line = self.last_line()
            follows = last_head is not None and last_line is not None
            follows = follows and last_head.prev == last_line.line_hash()  # type: ignore[union-attr]
            if not start and not (follows and self.key_path.exists()):
                # Deleted or cut files are for `verify` to report, not to paper over.
                log.warning("audit checkpoint not written: the checkpoint log or key is broken")
                return
            private = self.private_key()
            if private is None:
                private = self._create_key()
            base_count, base_id = (last_head.count, last_head.head_id) if last_head else (0, 0)
            count = base_count + count_since(base_id)
            now = datetime.now(UTC)
            checkpoint = self._sign(
                private,
                Checkpoint(
                    count=count,
                    head_id=head_id,
                    head=head_hash,
                    at=now.isoformat(),
                    prev=last_line.line_hash() if last_line else GENESIS,
                    key=key_id(private.public_key()),
                ),
            )
            if last_line is None or self._line_due(last_line, checkpoint, now):
                self._append_line(checkpoint)
                # the head now follows the line just written (a line is also a head)
                checkpoint = self._sign(private, _with_prev(checkpoint, checkpoint.line_hash()))
            self._replace_head(checkpoint)

    def _line_due(self, last: Checkpoint, new: Checkpoint, now: datetime) -> bool:
        if new.count - last.count >= self.every:
            return True
        try:
            return (now - datetime.fromisoformat(last.at)).total_seconds() >= CHECKPOINT_SECONDS
        except ValueError:
            return True

    @staticmethod
    def _sign(private: Ed25519PrivateKey, checkpoint: Checkpoint) -> Checkpoint:
        signature = private.sign(checkpoint.signed_bytes())
        return replace(checkpoint, sig=base64.b64encode(signature).decode())

    def _append_line(self, checkpoint: Checkpoint) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.lines_path.open("a", encoding="utf-8") as out:
            out.write(checkpoint.line() + "\n")
            out.flush()
            os.fsync(out.fileno())

    def _replace_head(self, checkpoint: Checkpoint) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".audit-head-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(checkpoint.line() + "\n")
        os.replace(temporary, self.head_path)  # atomic: never half a line

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with _PROCESS_LOCK, (self.folder / ".audit-checkpoints.lock").open("a") as lock:
            if fcntl is not None:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    # -- export ----------------------------------------------------------------------------
    def export(self, folder: Path) -> tuple[Path, Path, int]:
        """Write the checkpoints (with the head) and the public key into `folder`, for an
        outside witness; returns the two files and the number of checkpoints."""
        public = self.public_key()
        if public is None:
            raise CheckpointError(f"no signing key at {self.key_path}")
        folder.mkdir(parents=True, exist_ok=True)
        checkpoints = self.all()
        lines_file = folder / "audit-checkpoints.jsonl"
        key_file = folder / "audit-public-key.pem"
        lines_file.write_text("".join(c.line() + "\n" for c in checkpoints), encoding="utf-8")
        key_file.write_bytes(public_pem(public))
        return lines_file, key_file, len(checkpoints)


def _with_prev(checkpoint: Checkpoint, prev: str) -> Checkpoint:
    return replace(checkpoint, prev=prev, sig="")
