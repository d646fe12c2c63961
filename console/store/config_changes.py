"""Changes of the configuration: who changed what, and SHA-256 of before and after; the console
settings a supervisor sets (`ChangeConsoleSetting`, `console_settings`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import InitVar, dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.store import audit
from console.store.models import ConfigChange, ConsoleSetting
from console.store.tasks import StoreFiles, aware, canonical_json, set_field


@dataclass(frozen=True, slots=True)
class ConfigChangeRecord:
    id: int
    at: datetime
    user: str
    what: str
    before_digest: str | None
    after_digest: str | None


def digest(content: str | bytes | None) -> str | None:
    """SHA-256 (hex) of the content (UTF-8 for text); None for None."""
    if content is None:
        return None
    data = content.encode("utf-8") if isinstance(content, str) else content
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class RecordConfigChange:
    """`what` (e.g. a site file) changed; the digests of the content before and after are kept
    (the content itself is not). Returns the change id."""

    name: ClassVar[str] = "config.change"

    user: str
    what: str
    before: InitVar[str | bytes | None]
    after: InitVar[str | bytes | None]
    at: datetime | None = None
    before_digest: str | None = field(init=False, default=None)
    after_digest: str | None = field(init=False, default=None)

    def __post_init__(self, before: str | bytes | None, after: str | bytes | None) -> None:
        set_field(self, "before_digest", digest(before))  # the digest is kept, not the content
        set_field(self, "after_digest", digest(after))
        set_field(self, "at", aware(self.at, "at"))

    def run(self, session: Session, files: StoreFiles) -> int:
        assert self.at is not None
        before_digest, after_digest = self.before_digest, self.after_digest
        change = ConfigChange(
            at=self.at,
            user=self.user,
            what=self.what,
            before_digest=before_digest,
            after_digest=after_digest,
        )
        session.add(change)
        session.flush()
        facts = {"change_id": change.id, "before": before_digest, "after": after_digest}
        audit.append(session, self.user, "config.change", self.what, facts, self.at, rows=[change])
        return change.id


def list_config_changes(
    session: Session, *, since: datetime | None = None
) -> list[ConfigChangeRecord]:
    query = select(ConfigChange).order_by(ConfigChange.at, ConfigChange.id)
    if since is not None:
        query = query.where(ConfigChange.at >= aware(since, "since"))
    return [
        ConfigChangeRecord(c.id, c.at, c.user, c.what, c.before_digest, c.after_digest)
        for c in session.scalars(query)
    ]


@dataclass(frozen=True, slots=True)
class ChangeConsoleSetting:
    """A supervisor sets a console setting (`key` to a JSON `value`): the setting row, a config
    change (`console:<key>`, digests of the JSON before and after) and its audit row. Returns the
    change id."""

    name: ClassVar[str] = "config.setting"

    user: str
    key: str
    value: Any
    at: datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "at", aware(self.at, "at"))
        set_field(self, "value", json.loads(canonical_json(self.value)))  # TypeError here

    def run(self, session: Session, files: StoreFiles) -> int:
        assert self.at is not None
        row = session.get(ConsoleSetting, self.key)
        before = row.value if row is not None else None
        after = canonical_json(self.value)
        if row is None:
            session.add(
                ConsoleSetting(key=self.key, value=after, changed_at=self.at, changed_by=self.user)
            )
        else:
            row.value, row.changed_at, row.changed_by = after, self.at, self.user
        what = f"console:{self.key}"
        change = ConfigChange(
            at=self.at,
            user=self.user,
            what=what,
            before_digest=digest(before),
            after_digest=digest(after),
        )
        session.add(change)
        session.flush()
        facts = {
            "change_id": change.id,
            "before": json.loads(before) if before is not None else None,
            "after": self.value,
        }
        audit.append(session, self.user, "config.change", what, facts, self.at, rows=[change])
        return change.id


def console_settings(session: Session) -> dict[str, Any]:
    """The console settings a supervisor set (key -> value); the defaults are the console's."""
    return {row.key: json.loads(row.value) for row in session.scalars(select(ConsoleSetting))}
