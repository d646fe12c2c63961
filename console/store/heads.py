"""Signed chain heads, kept outside the database: what makes cutting rows off the end visible.

A chain that is simply shorter is still a valid chain. So the store's writer signs the chain's
head (seq and row hash) with the console's Ed25519 key at open, every `EVERY_ROWS` rows, at
least every `EVERY_S` seconds while rows arrive, and at close, appending one line per head to
`<heads dir>/<chain id>.jsonl` (fsynced). Verify checks every line's signature and that the row
it names is still in the chain with that hash: a log that now ends before a signed head was cut.
What was appended after the last signed head (at most `EVERY_ROWS` rows or `EVERY_S` seconds'
worth, if the console was killed) is not covered.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from console.store.keys import AuditKeys, b64, unb64
from console.store.tasks import canonical_json, iso

log = logging.getLogger(__name__)

EVERY_ROWS = 100
EVERY_S = 30.0


@dataclass(frozen=True, slots=True)
class SignedHead:
    line: int
    chain_id: str
    seq: int
    row_hash: str
    signed_at: str


def head_document(chain_id: str, seq: int, row_hash: str, signed_at: str) -> bytes:
    fields = {"chain_id": chain_id, "seq": seq, "row_hash": row_hash, "signed_at": signed_at}
    return canonical_json(fields).encode("utf-8")


class HeadSigner:
    """Signs the chain's head for a store's writer (its thread alone calls it). What it signs is
    read from the database (`read_head`: the committed head), never taken from a task, so a row
    of a transaction or savepoint that was rolled back is never signed."""

    def __init__(
        self,
        keys: AuditKeys,
        read_head: Callable[[], tuple[int, str]],
        *,
        every_rows: int = EVERY_ROWS,
        every_s: float = EVERY_S,
    ) -> None:
        self.keys = keys
        self.read_head = read_head
        self.every_rows = every_rows
        self.every_s = every_s
        self.chain_id: str | None = None
        self._newest_seq = 0  # the newest row a committed write appended, as it said
        self._signed_seq = 0
        self._unsigned_since: float | None = None
        self.failures = 0

    def note(self, seq: int) -> None:
        """A committed write appended rows up to `seq`."""
        self._newest_seq = max(self._newest_seq, seq)
        if self._unsigned_since is None and seq > self._signed_seq:
            self._unsigned_since = time.monotonic()

    def seconds_until_due(self) -> float | None:
        if self._unsigned_since is None:
            return None
        return max(0.0, self._unsigned_since + self.every_s - time.monotonic())

    def due(self) -> bool:
        if self._newest_seq <= self._signed_seq:
            return False
        if self._newest_seq - self._signed_seq >= self.every_rows:
            return True
        wait = self.seconds_until_due()
        return wait is not None and wait <= 0

    def sign_if_due(self) -> None:
        if self.due():
            self.sign()

    def sign(self) -> bool:
        """Sign the committed head now (if it moved since the last signature); False if it could
        not be read or written (logged, tried again later)."""
        if self.chain_id is None:
            return True
        try:
            seq, row_hash = self.read_head()
        except Exception as exc:  # the disk's fault: the writer reports it; sign later
            self.failures += 1
            log.warning("cannot read the audit chain's head to sign it: %s", exc)
            return False
        if seq <= self._signed_seq:
            self._unsigned_since = None
            return True
        signed_at = iso(datetime.now(UTC))
        document = head_document(self.chain_id, seq, row_hash, signed_at)
        line = json.loads(document)
        line["sig"] = b64(self.keys.sign(document))
        path = self.keys.heads_file(self.chain_id)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (json.dumps(line, sort_keys=True) + "\n").encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            self.failures += 1
            log.error(
                "cannot sign the audit chain's head into %s (%s): rows cut from the end since "
                "seq %d would not be noticed until it is written",
                path,
                exc.strerror or exc,
                self._signed_seq,
            )
            return False
        self._signed_seq = seq
        self._newest_seq = max(self._newest_seq, seq)
        self._unsigned_since = None
        return True


def read_signed_heads(path: Path, keys: AuditKeys) -> tuple[list[SignedHead], list[str]]:
    """The heads in a file whose signatures verify with `keys`, and a problem per line that does
    not (named by line number)."""
    heads: list[SignedHead] = []
    problems: list[str] = []
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return [], []
    except OSError as exc:
        return [], [f"{path}: cannot read the signed heads ({exc.strerror})"]
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
            document = head_document(
                str(line["chain_id"]), int(line["seq"]), str(line["row_hash"]), line["signed_at"]
            )
            signature = unb64(str(line["sig"]))
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"{path} line {number}: not a signed head ({exc}) (altered)")
            continue
        if not keys.verify(signature, document):
            problems.append(
                f"{path} line {number}: the signature of the head at seq {line['seq']} does not "
                "verify with the console's public key (altered, or signed by another key)"
            )
            continue
        heads.append(
            SignedHead(
                number,
                str(line["chain_id"]),
                int(line["seq"]),
                str(line["row_hash"]),
                str(line["signed_at"]),
            )
        )
    return heads, problems
