"""The control room's alarm sound: one cue per severity, repeated until the alarm is handled.

Three parts, so the decision can be tested without a sound card:

- `SoundPolicy` (pure, no Qt): given the open alarms and a monotonic time, decides which cue
  should sound *now*. A new or newly escalated unacknowledged alarm sounds at once; while any
  alarm waits for acknowledgement the cue of the most severe one repeats every
  `repeat_s[severity]` seconds, or every `escalated_repeat_s[severity]` (and louder) once any
  waiting alarm has escalated. A mute lasts `mute_s` and then ends by itself (and says so); a
  brand-new alarm ends it early, so nothing new is ever missed while muted.
- `ToneBank`: writes the cues as short WAV files (generated with numpy, never committed) into the
  user's cache folder once: a different pitch and rhythm per severity, a faster and louder
  variant for escalation.
- `AlarmSoundPlayer` (QObject): feeds the policy from `set_alarms(...)`, asks it on one timer,
  and plays through QtMultimedia's `QSoundEffect`. Without an audio output (offscreen, CI, a
  headless machine) it carries on silently, and says so where the operator sees it: `start()`
  looks for an output device, and `silenced(reason)` is emitted once when the sound goes off (the
  window shows "NO SOUND: ..." for good and writes it to the audit log). Cues are still decided
  and signalled.

    sound = AlarmSoundPlayer(clock)
    queue.alarms_changed.connect(sound.set_alarms)
    sound.notice.connect(window.statusBar().showMessage)
    sound.silenced.connect(status_line.no_sound)   # permanent, and audited
    menu.addAction(sound.mute_action)
    sound.start()
    ...
    sound.close()
"""

from __future__ import annotations

import hashlib
import logging
import wave
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import platformdirs
from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence

from console.alarms import Alarm
from console.clock import Clock
from console.severity import Severity

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 44100  # the CD rate, which audio outputs commonly accept
TONE_VERSION = 1  # bump when the generated sound changes, so older cached files are not reused


def default_cache_dir() -> Path:
    """Where the generated cues live: `sounds/` in Nightwatch's user cache folder (platformdirs:
    $XDG_CACHE_HOME/nightwatch or ~/.cache/nightwatch on Linux)."""
    return platformdirs.user_cache_path("nightwatch", appauthor=False) / "sounds"


# --------------------------------------------------------------------------- the decision


@dataclass(frozen=True, slots=True)
class Cue:
    """What to sound: the cue of a severity, in its normal or escalated (loud, fast) form."""

    severity: str
    escalated: bool = False

    @property
    def name(self) -> str:
        return f"{self.severity}-escalated" if self.escalated else self.severity


def _per_severity(high: float, medium: float, low: float) -> dict[str, float]:
    return {"high": high, "medium": medium, "low": low}


@dataclass(frozen=True, slots=True)
class SoundSettings:
    """How often cues repeat and how long a mute lasts, in seconds."""

    repeat_s: Mapping[str, float] = field(default_factory=lambda: _per_severity(10, 20, 60))
    escalated_repeat_s: Mapping[str, float] = field(default_factory=lambda: _per_severity(4, 6, 10))
    mute_s: float = 120.0
    new_alarm_ends_mute: bool = True

    def __post_init__(self) -> None:
        for name in ("repeat_s", "escalated_repeat_s"):
            table = getattr(self, name)
            missing = [s.value for s in Severity if s not in table]
            if missing:
                raise ValueError(f"SoundSettings.{name} lacks severities {missing}")
            bad = {s: v for s, v in table.items() if not v > 0}
            if bad:
                raise ValueError(f"SoundSettings.{name} needs seconds > 0 (got {bad})")
        if not self.mute_s > 0:
            raise ValueError(f"SoundSettings.mute_s needs seconds > 0 (got {self.mute_s!r})")


@dataclass(frozen=True, slots=True)
class SoundDecision:
    """The policy's answer for one moment: a cue to play now (or None) and what to tell the
    operator (the mute ended, and why)."""

    cue: Cue | None = None
    notices: tuple[str, ...] = ()


class SoundPolicy:
    """Decides what should sound now. Pure: no Qt, no clock of its own; times are monotonic
    seconds handed in by the caller."""

    def __init__(self, settings: SoundSettings | None = None) -> None:
        self.settings = settings or SoundSettings()
        self._waiting: dict[int, tuple[str, bool]] = {}  # unacknowledged: id -> (severity, esc.)
        self._cue: Cue | None = None  # what the waiting alarms call for
        self._heard: set[tuple[int, bool]] = set()  # (alarm id, escalated) already sounded
        self._last_cue_at: float | None = None
        self._muted_until: float | None = None

    # -- what is open

    def set_alarms(self, alarms: Iterable[Alarm]) -> None:
        """The open alarms now (any order); only unacknowledged ones call for sound."""
        self._waiting = {
            a.alarm_id: (a.severity, a.escalated) for a in alarms if not a.acknowledged
        }
        self._heard = {k for k in self._heard if k[0] in self._waiting}
        if not self._waiting:
            self._last_cue_at = None
        self._cue = self._cue_of_waiting()  # worked out once per change, asked at every tick

    @property
    def waiting(self) -> int:
        """How many alarms wait for acknowledgement."""
        return len(self._waiting)

    def current_cue(self) -> Cue | None:
        """The cue the waiting alarms call for: the most severe one's pitch, escalated (louder,
        faster) when any waiting alarm has escalated; None when nothing waits."""
        return self._cue

    def _cue_of_waiting(self) -> Cue | None:
        if not self._waiting:
            return None
        severities = {s for s, _ in self._waiting.values()}
        severity = min((Severity(s) for s in severities), key=lambda s: s.rank)
        escalated = any(e for _, e in self._waiting.values())
        return Cue(severity, escalated)

    def repeat_interval_s(self) -> float | None:
        cue = self.current_cue()
        if cue is None:
            return None
        table = self.settings.escalated_repeat_s if cue.escalated else self.settings.repeat_s
        return float(table[cue.severity])

    # -- mute

    def mute(self, now_s: float) -> float:
        """Silence for `settings.mute_s`; returns when the mute ends (monotonic seconds)."""
        self._muted_until = now_s + self.settings.mute_s
        return self._muted_until

    def unmute(self) -> None:
        self._muted_until = None

    def muted(self, now_s: float) -> bool:
        return self._muted_until is not None and now_s < self._muted_until

    def mute_remaining_s(self, now_s: float) -> float:
        if self._muted_until is None:
            return 0.0
        return max(0.0, self._muted_until - now_s)

    # -- the decision

    def tick(self, now_s: float) -> SoundDecision:
        """What to do at `now_s`. A returned cue counts as played."""
        notices: list[str] = []
        if self._muted_until is not None and now_s >= self._muted_until:
            self._muted_until = None
            notices.append("Alarm sound is back on: the mute timed out.")
        cue = self.current_cue()
        if cue is None:
            return SoundDecision(None, tuple(notices))
        current = {(alarm_id, esc) for alarm_id, (_, esc) in self._waiting.items()}
        new_alarms = {alarm_id for alarm_id, _ in current} - {
            alarm_id for alarm_id, _ in self._heard
        }
        if self._muted_until is not None:
            if not (new_alarms and self.settings.new_alarm_ends_mute):
                return SoundDecision(None, tuple(notices))
            self._muted_until = None
            notices.append("Alarm sound is back on: a new alarm was raised.")
        interval = self.repeat_interval_s() or 0.0
        fresh = bool(current - self._heard)  # a new alarm, or one that just escalated
        due = self._last_cue_at is None or now_s - self._last_cue_at >= interval
        if not (fresh or due):
            return SoundDecision(None, tuple(notices))
        self._heard |= current
        self._last_cue_at = now_s
        return SoundDecision(cue, tuple(notices))


# --------------------------------------------------------------------------- the tones


@dataclass(frozen=True, slots=True)
class TonePattern:
    """A cue's sound: `beeps` beeps of `beep_s` seconds `gap_s` apart, cycling through the
    pitches, at `amplitude` (0..1 of full scale)."""

    pitches_hz: tuple[float, ...]
    beeps: int
    beep_s: float
    gap_s: float
    amplitude: float

    def escalated(self) -> TonePattern:
        """Twice the beeps, half the gaps, louder."""
        return TonePattern(
            self.pitches_hz,
            self.beeps * 2,
            self.beep_s * 0.8,
            self.gap_s * 0.5,
            min(0.95, self.amplitude * 1.6),
        )


TONE_PATTERNS: dict[str, TonePattern] = {
    # high: a fast two-tone warble; medium: two even beeps; low: one soft low chime
    "high": TonePattern((880.0, 1175.0), beeps=4, beep_s=0.12, gap_s=0.06, amplitude=0.55),
    "medium": TonePattern((660.0,), beeps=2, beep_s=0.18, gap_s=0.14, amplitude=0.45),
    "low": TonePattern((440.0,), beeps=1, beep_s=0.35, gap_s=0.0, amplitude=0.35),
}


def tone_samples(pattern: TonePattern, rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """The pattern as 16-bit mono samples, each beep with a short fade so it never clicks."""
    beep_n = round(pattern.beep_s * rate_hz)
    gap_n = round(pattern.gap_s * rate_hz)
    fade_n = max(1, min(beep_n // 4, round(0.008 * rate_hz)))
    envelope = np.ones(beep_n)
    envelope[:fade_n] = np.linspace(0.0, 1.0, fade_n)
    envelope[-fade_n:] = np.linspace(1.0, 0.0, fade_n)
    t = np.arange(beep_n) / rate_hz
    parts: list[np.ndarray] = []
    for i in range(pattern.beeps):
        pitch = pattern.pitches_hz[i % len(pattern.pitches_hz)]
        parts.append(np.sin(2 * np.pi * pitch * t) * envelope * pattern.amplitude)
        if i < pattern.beeps - 1:
            parts.append(np.zeros(gap_n))
    parts.append(np.zeros(round(0.02 * rate_hz)))  # a breath of silence at the end
    return (np.concatenate(parts) * 32767).astype("<i2")


def write_wav(path: Path, samples: np.ndarray, rate_hz: int = SAMPLE_RATE_HZ) -> None:
    """Write mono 16-bit samples atomically (a half-written cue is never played)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate_hz)
        out.writeframes(samples.tobytes())
    tmp.replace(path)


class ToneBank:
    """The cue WAV files in a cache folder, generated on first use."""

    def __init__(
        self,
        cache_dir: Path | None = None,
        patterns: Mapping[str, TonePattern] | None = None,
    ) -> None:
        self.cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
        self.patterns = dict(patterns or TONE_PATTERNS)

    def pattern(self, cue: Cue) -> TonePattern:
        base = self.patterns[cue.severity]
        return base.escalated() if cue.escalated else base

    def path(self, cue: Cue) -> Path:
        """The cue's file (written now if it is not there yet). Raises OSError when the cache
        folder cannot be written."""
        pattern = self.pattern(cue)
        digest = hashlib.sha256(
            f"{TONE_VERSION}:{SAMPLE_RATE_HZ}:{pattern!r}".encode()
        ).hexdigest()[:10]
        path = self.cache_dir / f"{cue.name}-{digest}.wav"
        if not path.is_file():
            write_wav(path, tone_samples(pattern))
            log.info("alarm cue %s written to %s", cue.name, path)
        return path


# --------------------------------------------------------------------------- playback


class CueOutput(Protocol):
    """Something that can make a cue heard."""

    def play(self, cue: Cue) -> None: ...

    def close(self) -> None: ...


NORMAL_VOLUME = 0.6
ESCALATED_VOLUME = 1.0


def _has_audio_output() -> bool:
    from PySide6.QtMultimedia import QMediaDevices

    return bool(QMediaDevices.audioOutputs())


class SoundEffectOutput:
    """Plays cues through `QSoundEffect`; one effect per cue, made on first use. Without an audio
    output, or when a cue cannot be written or loaded, it stays silent, logs once and tells
    `on_silent(reason)` once (the player's `silenced` signal)."""

    def __init__(
        self,
        bank: ToneBank,
        parent: QObject,
        *,
        has_output: Callable[[], bool] = _has_audio_output,
        on_silent: Callable[[str], None] | None = None,
    ) -> None:
        self._bank = bank
        self._parent = parent
        self._has_output = has_output
        self._on_silent = on_silent
        # QSoundEffects, typed as QObject: QtMultimedia is imported only when sound is wanted
        # (it may be missing), so the `type: ignore[attr-defined]`s below call its methods
        self._effects: dict[str, QObject] = {}
        self._silent_reason: str | None = None
        self._checked = False
        self._play_when_loaded: set[str] = set()

    @property
    def silent_reason(self) -> str | None:
        """Why nothing is heard (no device, a cue that failed), or None while it works."""
        return self._silent_reason

    def _go_silent(self, reason: str) -> None:
        if self._silent_reason is None:
            self._silent_reason = reason
            log.warning("alarm sound is off: %s (alarms are still shown)", reason)
            if self._on_silent is not None:
                self._on_silent(reason)

    def check_device(self) -> str | None:
        """Look for an audio output now (once); returns why nothing will be heard, or None."""
        if not self._checked:
            self._checked = True
            if not self._has_output():
                self._go_silent("no audio output device")
        return self._silent_reason

    def play(self, cue: Cue) -> None:
        self.check_device()
        if self._silent_reason is not None:
            return
        if not self._effects:
            self.preload()
        effect = self._effects.get(cue.name)
        if effect is None:
            return
        if effect.isLoaded():  # type: ignore[attr-defined]
            effect.play()  # type: ignore[attr-defined]
        else:
            self._play_when_loaded.add(cue.name)  # the very first cue may still be loading

    def preload(self) -> None:
        """Write and load every cue now, so the first alarm is heard without delay."""
        for severity in self._bank.patterns:
            for escalated in (False, True):
                cue = Cue(severity, escalated)
                if cue.name not in self._effects and self._silent_reason is None:
                    self._make_effect(cue)

    def _make_effect(self, cue: Cue) -> QObject | None:
        from PySide6.QtMultimedia import QSoundEffect

        try:
            path = self._bank.path(cue)
        except OSError as exc:
            self._go_silent(f"cannot write the cue {cue.name}: {exc}")
            return None
        effect = QSoundEffect(self._parent)
        effect.setSource(QUrl.fromLocalFile(str(path)))
        effect.setVolume(ESCALATED_VOLUME if cue.escalated else NORMAL_VOLUME)

        def on_status() -> None:
            status = effect.status()
            if status == QSoundEffect.Status.Error:
                self._go_silent(f"the cue {path.name} could not be played")
            elif status == QSoundEffect.Status.Ready and cue.name in self._play_when_loaded:
                self._play_when_loaded.discard(cue.name)
                if self._silent_reason is None:
                    effect.play()

        effect.statusChanged.connect(on_status)
        self._effects[cue.name] = effect
        return effect

    def close(self) -> None:
        for effect in self._effects.values():
            effect.stop()  # type: ignore[attr-defined]
            effect.deleteLater()
        self._effects.clear()
        self._play_when_loaded.clear()


def _format_s(seconds: float) -> str:
    whole = max(0, round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


class AlarmSoundPlayer(QObject):
    """Sounds the open alarms' cues; owns one timer (stopped by `stop()` or `close()`)."""

    cue_played = Signal(object)  # Cue
    mute_changed = Signal(bool)
    notice = Signal(str)  # for the status bar: mute started/ended, and why
    silenced = Signal(str)  # once: the sound went off for good, and why ("no audio output device")

    def __init__(
        self,
        clock: Clock,
        *,
        settings: SoundSettings | None = None,
        output: CueOutput | None = None,
        cache_dir: Path | None = None,
        tick_ms: int = 500,
        has_output: Callable[[], bool] = _has_audio_output,
        parent: QObject | None = None,
    ) -> None:
        """`has_output` says whether the machine has an audio output (QtMultimedia's list of
        devices; a test may say no)."""
        super().__init__(parent)
        self._clock = clock
        self.policy = SoundPolicy(settings)
        self._silent_reason: str | None = None
        self._output: CueOutput = output or SoundEffectOutput(
            ToneBank(cache_dir), self, has_output=has_output, on_silent=self._went_silent
        )
        self._was_muted = False
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self.tick)
        mute_s = _format_s(self.policy.settings.mute_s)
        self.mute_action = QAction(f"&Mute alarm sound ({mute_s})", self)
        self.mute_action.setCheckable(True)
        self.mute_action.setShortcut(QKeySequence("Ctrl+M"))
        self.mute_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.mute_action.setToolTip(
            f"Silence alarm cues for {mute_s}; the mute ends by itself, and a new alarm ends it"
        )
        self.mute_action.toggled.connect(self._on_mute_toggled)

    # -- feeding

    @Slot(list)
    def set_alarms(self, alarms: list[Alarm]) -> None:
        """The open alarms now (e.g. `AlarmQueueView.alarms_changed`); sounds a new one at once."""
        self.policy.set_alarms(alarms)
        self.tick()

    # -- mute

    @property
    def muted(self) -> bool:
        return self.policy.muted(self._clock.monotonic())

    def mute_remaining_s(self) -> float:
        return self.policy.mute_remaining_s(self._clock.monotonic())

    @Slot()
    def mute(self) -> None:
        self.policy.mute(self._clock.monotonic())
        log.info("alarm sound muted for %.0f s", self.policy.settings.mute_s)
        self._set_muted(True, f"Alarm sound muted for {_format_s(self.policy.settings.mute_s)}.")

    @Slot()
    def unmute(self) -> None:
        self.policy.unmute()
        self._set_muted(False, "Alarm sound is back on.")

    @Slot(bool)
    def _on_mute_toggled(self, checked: bool) -> None:
        if checked and not self.muted:
            self.mute()
        elif not checked and self.muted:
            self.unmute()

    def _set_muted(self, muted: bool, message: str) -> None:
        changed = muted != self._was_muted
        self._was_muted = muted
        if self.mute_action.isChecked() != muted:
            self.mute_action.blockSignals(True)
            self.mute_action.setChecked(muted)
            self.mute_action.blockSignals(False)
        if changed:
            self.mute_changed.emit(muted)
        self.notice.emit(message)

    # -- time

    @Slot()
    def tick(self) -> None:
        """Ask the policy what to do now, and do it."""
        decision = self.policy.tick(self._clock.monotonic())
        for message in decision.notices:
            log.info("%s", message)
            self._set_muted(False, message)
        if decision.cue is not None:
            log.debug("alarm cue %s", decision.cue.name)
            self._output.play(decision.cue)
            self.cue_played.emit(decision.cue)

    @property
    def is_running(self) -> bool:
        return self._timer.isActive()

    @property
    def silent_reason(self) -> str | None:
        """Why no alarm is heard on this console (no audio output, a cue that failed), or None."""
        return self._silent_reason

    def _went_silent(self, reason: str) -> None:
        if self._silent_reason is None:
            self._silent_reason = reason
            self.silenced.emit(reason)

    def start(self) -> None:
        """Look for an audio output (`silenced` if there is none) and start the cue timer."""
        check = getattr(self._output, "check_device", None)
        if callable(check):
            check()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def close(self) -> None:
        """Stop the timer and release the sound effects."""
        self.stop()
        self._output.close()
