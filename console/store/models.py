"""SQLAlchemy 2 ORM models of Nightwatch's durable record: alarms, their events, dispatches,
snapshots, clips, holds, users, shifts, config changes and the keyed, hash-chained audit log.

Every time is an aware UTC `datetime` in Python. SQLite keeps it as a naive UTC text
(`YYYY-MM-DD HH:MM:SS.ffffff`, which sorts like time); PostgreSQL as `timestamptz`. A naive
datetime is refused when written, so local wall-clock times never slip in.

The schema itself is created by the Alembic revisions in `console.store.migrations`, never by
`Base.metadata.create_all`; a test compares the two so they cannot drift apart.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from console.roles import PERSON_ROLES, Role

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: pass an aware time")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class AlarmState(enum.StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    RESOLVED = "resolved"


class Outcome(enum.StrEnum):
    FALSE_ALARM = "false_alarm"
    VISITOR_WARNED = "visitor_warned"
    INTERVENTION = "intervention"
    POLICE_CALLED = "police_called"
    OTHER = "other"


class SnapshotKind(enum.StrEnum):
    ANNOTATED = "annotated"  # the frame with the person's box and the object's outline drawn
    CLEAN = "clean"  # the same frame as the camera gave it


class ClipState(enum.StrEnum):
    """Where an alarm's clip of one camera is (see `console.store.clips`)."""

    RECORDING = "recording"  # its moment is still being collected (post-roll running)
    KEPT = "kept"  # the file is in the file area with its SHA-256 (unless purged_at)
    FAILED = "failed"  # no clip could be made: `reason` says why
    UNAVAILABLE = "unavailable"  # the camera has no stream to keep (a USB camera)


class EventKind(enum.StrEnum):
    RAISE = "raise"
    ACKNOWLEDGE = "acknowledge"
    DISPATCH = "dispatch"
    ARRIVE = "arrive"
    RESOLVE = "resolve"
    COMMENT = "comment"
    ESCALATE = "escalate"
    ACTIVITY = "activity"  # new activity on an alarm already acknowledged (re-flagged)
    SEEN = "seen"  # the monitor saw that activity


def _enum(cls: type[enum.StrEnum]) -> Enum:
    # Stored as the member's value in a VARCHAR; the CHECK constraint is declared by hand in each
    # table (and in the migration) so that its name is stable.
    return Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


def _in_check(column: str, cls: type[enum.StrEnum] | tuple[enum.StrEnum, ...]) -> str:
    values = ", ".join(f"'{m.value}'" for m in cls)
    return f"{column} IN ({values})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class Alarm(Base):
    """One alarm: the folded findings of one camera/subject/track episode."""

    __tablename__ = "alarms"
    __table_args__ = (
        CheckConstraint(_in_check("state", AlarmState), name="state"),
        CheckConstraint(_in_check("outcome", Outcome), name="outcome"),
        Index("ix_alarms_raised_at", "raised_at"),
        Index("ix_alarms_camera_id_raised_at", "camera_id", "raised_at"),
        Index("ix_alarms_subject", "subject"),
        Index("ix_alarms_subject_raised_at", "subject", "raised_at"),
        Index("ix_alarms_state", "state"),
        Index("ix_alarms_episode_key", "episode_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(128))  # protected object or zone id
    severity: Mapped[str] = mapped_column(String(16))
    track_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[AlarmState] = mapped_column(_enum(AlarmState))
    raised_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    outcome: Mapped[Outcome | None] = mapped_column(_enum(Outcome))
    note: Mapped[str | None] = mapped_column(Text)
    episode_key: Mapped[str | None] = mapped_column(String(255))
    snapshot_id: Mapped[int | None] = mapped_column(
        ForeignKey("snapshots.id", use_alter=True, ondelete="SET NULL")
    )
    replayed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    events: Mapped[list[AlarmEvent]] = relationship(
        back_populates="alarm", order_by="AlarmEvent.id"
    )
    dispatches: Mapped[list[Dispatch]] = relationship(
        back_populates="alarm", order_by="Dispatch.id"
    )
    snapshots: Mapped[list[Snapshot]] = relationship(
        back_populates="alarm", order_by="Snapshot.id", foreign_keys="Snapshot.alarm_id"
    )
    occurrences: Mapped[list[Occurrence]] = relationship(
        back_populates="alarm", order_by="Occurrence.id"
    )


class Occurrence(Base):
    """One sighting folded into an alarm: a person (track) seen by a camera, from when to when
    (ended_at None: still seen), and how close they came to the protected object."""

    __tablename__ = "alarm_occurrences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"), index=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    track_id: Mapped[int | None] = mapped_column(Integer)
    condition: Mapped[str | None] = mapped_column(String(32))  # a camera's own: video_loss, ...
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    video_start_s: Mapped[float | None] = mapped_column(Float)
    video_end_s: Mapped[float | None] = mapped_column(Float)
    closest_m: Mapped[float | None] = mapped_column(Float)

    alarm: Mapped[Alarm] = relationship(back_populates="occurrences")


class AlarmEvent(Base):
    """One step of an alarm's lifecycle, with its time and user."""

    __tablename__ = "alarm_events"
    __table_args__ = (
        CheckConstraint(_in_check("kind", EventKind), name="kind"),
        Index("ix_alarm_events_user_alarm_id", "user", "alarm_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"), index=True)
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind))
    at: Mapped[datetime]
    user: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None]

    alarm: Mapped[Alarm] = relationship(back_populates="events")


class Dispatch(Base):
    """A guard sent to an alarm: who, from which post, when sent and when arrived."""

    __tablename__ = "dispatches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"), index=True)
    guard_id: Mapped[str] = mapped_column(String(64))
    post: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime]
    arrived_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)

    alarm: Mapped[Alarm] = relationship(back_populates="dispatches")


class Snapshot(Base):
    """A JPEG on disk (path relative to the snapshots folder) and the SHA-256 of its bytes;
    `kind`: the annotated frame (boxes drawn) or the clean one beside it."""

    __tablename__ = "snapshots"
    __table_args__ = (CheckConstraint(_in_check("kind", SnapshotKind), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    taken_at: Mapped[datetime]
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    purged_at: Mapped[datetime | None]
    kind: Mapped[SnapshotKind] = mapped_column(
        _enum(SnapshotKind), default=SnapshotKind.ANNOTATED, server_default="annotated"
    )

    alarm: Mapped[Alarm] = relationship(back_populates="snapshots", foreign_keys=[alarm_id])


class Clip(Base):
    """An alarm's video clip from one camera: the camera's own packets (never re-encoded) from
    the pre-roll before the alarm to the post-roll after its risk cleared, a Matroska file in
    the file area (path relative to it) with its SHA-256; `overlay` holds the tracked boxes
    over that time (drawn over the clip when it plays, never into it). A purged clip keeps its
    row and hash (`purged_at`)."""

    __tablename__ = "clips"
    __table_args__ = (
        CheckConstraint(_in_check("state", ClipState), name="state"),
        Index("ix_clips_start_at", "start_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"), index=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[ClipState] = mapped_column(_enum(ClipState))
    reason: Mapped[str | None] = mapped_column(Text)  # failed, unavailable, or what cut it short
    window_start_at: Mapped[datetime]  # what was asked: the pre-roll before the alarm
    window_end_at: Mapped[datetime | None]  # the post-roll after its risk cleared
    start_at: Mapped[datetime | None]  # the clip's first frame (its time 0)
    end_at: Mapped[datetime | None]
    path: Mapped[str | None] = mapped_column(String(512))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    codec: Mapped[str | None] = mapped_column(String(32))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    overlay: Mapped[dict[str, Any] | None]
    opened_at: Mapped[datetime]
    kept_at: Mapped[datetime | None]
    purged_at: Mapped[datetime | None]


class User(Base):
    """An account. `name_key` (the name case-folded, NFKC) keeps names unique whatever their
    case; only the argon2id hash of the password is kept; a disabled account cannot sign in."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in_check("role", PERSON_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    name_key: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role))
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    disabled_by: Mapped[str | None] = mapped_column(String(64))

    shifts: Mapped[list[Shift]] = relationship(
        back_populates="user", order_by="Shift.id", foreign_keys="Shift.user_id"
    )


class Shift(Base):
    """A user's time at a console (`station`), from sign-in to sign-out or hand-over. A
    hand-over ends the outgoing shift with its note and the next user; the incoming shift names
    the shift it took over and when its user confirmed reading the note."""

    __tablename__ = "shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    station: Mapped[str | None] = mapped_column(String(128))
    end_reason: Mapped[str | None] = mapped_column(String(64))
    handover_note: Mapped[str | None] = mapped_column(Text)
    handed_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    taken_over_from_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id"))
    note_confirmed_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="shifts", foreign_keys=[user_id])
    handed_to: Mapped[User | None] = relationship(foreign_keys=[handed_to_id])


class LoginBackoff(Base):
    """Failed sign-ins in a row for one key (`user:<name key>` or `console:<station>`), so the
    exponential back-off survives a restart and holds across command-line invocations."""

    __tablename__ = "login_backoff"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failed_at: Mapped[datetime]


class ConsoleSetting(Base):
    """A console setting a supervisor changed (JSON value); each change is also a config change
    and an audit row."""

    __tablename__ = "console_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime]
    changed_by: Mapped[str] = mapped_column(String(64))


class ConfigChange(Base):
    """A change of the site configuration: what changed, by whom, SHA-256 of before and after."""

    __tablename__ = "config_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user: Mapped[str] = mapped_column(String(64))
    what: Mapped[str] = mapped_column(String(255))
    before_digest: Mapped[str | None] = mapped_column(String(64))
    after_digest: Mapped[str | None] = mapped_column(String(64))


class Hold(Base):
    """An incident under hold (a police case, an insurance claim): its snapshots and clips are
    kept past the retention period until the hold is released."""

    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    case_ref: Mapped[str | None] = mapped_column(String(128))
    placed_by: Mapped[str] = mapped_column(String(64))
    placed_at: Mapped[datetime]
    released_by: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[datetime | None]
    release_reason: Mapped[str | None] = mapped_column(Text)


class AuditRecord(Base):
    """One row of the append-only audit log.

    `seq` counts rows from 1 with no gaps. From the row `audit.keyed` on, `row_hash` is
    HMAC-SHA-256 (the audit key, outside the database) over `prev_hash` (the previous row's
    `row_hash`, or 64 zeros for the first row) followed by the row's canonical content, which
    holds `payload_hash`: SHA-256 over `detail` and `row_digests` (the digests of the table rows
    the step wrote). Rows before `audit.keyed` (written before keys existed) are plain SHA-256 over
    the older content (see `console.store.audit`). `detail` and `row_digests` are kept as the
    exact canonical JSON text that was hashed. Triggers refuse UPDATE and DELETE on SQLite and
    PostgreSQL.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))
    payload_hash: Mapped[str | None] = mapped_column(String(64))  # None: written before keys
    row_digests: Mapped[str | None] = mapped_column(Text)


class WalkTest(Base):
    """A walk test: a guard walks up to each protected object and into each zone while the
    console records which rule would have fired (console.walk_test). `status` is running,
    finished or cancelled; a test still running when the console stopped stays running."""

    __tablename__ = "walk_tests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]
    user: Mapped[str] = mapped_column(String(64))
    site_name: Mapped[str] = mapped_column(String(255))
    site_digest: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    subjects: Mapped[str] = mapped_column(Text)  # JSON list of [kind, id, name]

    results: Mapped[list[WalkTestResult]] = relationship(
        back_populates="walk_test", order_by="WalkTestResult.id"
    )


class WalkTestResult(Base):
    """One object or zone of a walk test: passed or not, why, and the evidence (camera, time,
    distance, the frame as a JPEG in the store's file area with its SHA-256)."""

    __tablename__ = "walk_test_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    walk_test_id: Mapped[int] = mapped_column(
        ForeignKey("walk_tests.id", ondelete="CASCADE"), index=True
    )
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64))
    subject_name: Mapped[str] = mapped_column(String(255))
    passed: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    camera_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime | None]
    distance_m: Mapped[float | None] = mapped_column(Float)
    track_id: Mapped[int | None] = mapped_column(Integer)
    rule_would_fire: Mapped[bool | None] = mapped_column(Boolean)
    evidence_path: Mapped[str | None] = mapped_column(String(512))
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))

    walk_test: Mapped[WalkTest] = relationship(back_populates="results")


class BehaviourCell(Base):
    """One cell of the learned normal (console.behaviour.baseline): a room, artwork, camera
    view or the site, at one hour of the week (-1: all hours), its histograms as JSON text.
    Aggregated weights only: never a track, a position or an appearance."""

    __tablename__ = "behaviour_cells"
    __table_args__ = (Index("ix_behaviour_cells_place", "kind", "place_id", "hour", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    place_id: Mapped[str] = mapped_column(String(64))
    hour: Mapped[int] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class BehaviourSwitch(Base):
    """A supervisor switched the behaviour features on or off at the console (the newest row
    holds); the site file's `behaviour.enabled: false` switches them off whatever this says."""

    __tablename__ = "behaviour_switches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
