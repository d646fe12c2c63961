"""RTSP cameras dropping and coming back under the real runtime. Used by
tests/reliability/test_rtsp_drops.py (a few cameras, a few cycles) and bench/reliability.py rtsp
(16 cameras, 100 cycles), which also times it.

One real RTSP server per camera (tests/rtsp_server.py: gst-rtsp-server on 127.0.0.1, a still
test picture: a detector has little to do, so what is measured is the camera path), the real
`SiteRuntime` headless in this process (capture process, detector worker, core thread, alarm
manager, SQLite store) with the camera-health rule on. Each cycle drops every camera, in turns
one of three ways:

- `kill`: the server is SIGKILLed, and started again once the alarm is in;
- `freeze`: the server is SIGSTOPped (connections stay open, nothing is sent), then SIGCONTed;
- `freeze-restart`: SIGSTOPped, then killed and started anew (a frozen camera power-cycled).

Each time, checked with generous deadlines and measured:

- a video-loss alarm for that camera, raised after the drop (seconds from the drop to the
  alarm's listener: the console's queue);
- the camera back: a new frame in its ring after the server returned (seconds from the return);
- then a monitor acknowledges and resolves the alarm, so the next drop is a new incident;
- after every cycle: no process below this one but the runtime's own and the servers, no frame
  ring of this process beyond one per camera, no more open file descriptors than after the first
  cycle (plus a little slack);
- a camera not back by the deadline (or not live by it at the start): the harness asks its
  server itself (TCP connect and RTSP `OPTIONS`, as the reader's probe does). A server that
  does not answer its own port is the test server's fault, not the console's: it is recorded
  under `server_hangs` with its process state, power-cycled (killed and started again), and the
  camera must then be back within the deadline from that restart. A server that answers while
  its camera stays dark is the console's problem;
- at the end, after a clean stop: no process, ring or descriptor left over, and in the store
  exactly one video-loss alarm per camera per outage (none lost, none twice), every one resolved,
  and no video loss silenced by re-arming (a camera lost again right after its alarm was
  resolved is a new outage).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.reliability.leaks import descendants, open_fds, rings_of
from tests.reliability.sites import camera_id, reliability_site
from tests.rtsp_server import RtspServer

KINDS = ("kill", "freeze", "freeze-restart")
USER = "night-monitor"
FD_SLACK = 4  # descriptors that may come and go (a read connection, a pipe being reaped)


@dataclass
class DropFigures:
    cameras: int
    cycles: int = 0
    outages: int = 0
    startup_alarms: int = 0  # video-loss alarms of cameras still opening at the start
    alarm_s: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    back_s: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    fds: list[int] = field(default_factory=list)  # after each cycle
    processes: list[int] = field(default_factory=list)
    rings: list[int] = field(default_factory=list)
    stored: dict[str, int] = field(default_factory=dict)  # video-loss alarms per camera
    seconds: float = 0.0
    server_hangs: list[str] = field(default_factory=list)  # test servers that stopped answering
    hung: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # hangs by kind
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        def spread(values: list[float]) -> str:
            if not values:
                return "-"
            ordered = sorted(values)
            p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
            median = ordered[len(ordered) // 2]
            return f"median {median:.1f} s, p95 {p95:.1f} s, max {max(values):.1f} s"

        alarms = [s for v in self.alarm_s.values() for s in v]
        backs = [s for v in self.back_s.values() for s in v]
        return (
            f"{self.cameras} cameras x {self.cycles} cycles = {self.outages} outages in "
            f"{self.seconds:.0f} s: video-loss alarm after {spread(alarms)}; back after "
            f"{spread(backs)}; fds {self.fds[:1]}..{self.fds[-1:]}, processes "
            f"{sorted(set(self.processes))}, rings {sorted(set(self.rings))}; "
            f"{len(self.server_hangs)} test servers hung and power-cycled; "
            f"{len(self.problems)} problems"
        )


class _Watch:
    """What the runtime tells its listeners, with the moments it did."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.raised: list[tuple[float, str, int]] = []  # when, camera, alarm id: video loss
        self.seen: set[int] = set()
        self.status: dict[str, list[tuple[float, str]]] = defaultdict(list)

    def on_alarm(self, alarm: object) -> None:
        rule = getattr(alarm, "rule", None)
        if rule != "camera_health":
            return
        alarm_id = alarm.alarm_id  # type: ignore[attr-defined]
        condition = alarm.detail.condition  # type: ignore[attr-defined]
        with self.lock:
            if alarm_id not in self.seen and condition == "video_loss":
                self.seen.add(alarm_id)
                self.raised.append((time.monotonic(), alarm.camera_id, alarm_id))  # type: ignore[attr-defined]

    def on_status(self, change: object) -> None:
        with self.lock:
            self.status[change.camera_id].append((time.monotonic(), str(change.status)))  # type: ignore[attr-defined]

    def alarm_after(self, camera: str, since: float) -> tuple[float, int] | None:
        with self.lock:
            for at, cam, alarm_id in self.raised:
                if cam == camera and at >= since:
                    return at, alarm_id
        return None

    def live_after(self, camera: str, since: float) -> bool:
        with self.lock:
            changes = [s for at, s in self.status[camera] if at >= since]
        return bool(changes) and changes[-1] == "live"


def server_answers(server: RtspServer, timeout_s: float = 2.0) -> str | None:
    """None when the test server answers an RTSP ``OPTIONS`` on its port within `timeout_s`,
    else what happened, with the server process's state (from /proc) to tell a stopped, a
    sleeping and a dead one apart."""
    request = f"OPTIONS {server.url} RTSP/1.0\r\nCSeq: 1\r\n\r\n".encode("ascii")
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            sock.sendall(request)
            reply = sock.recv(64)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
    else:
        if reply.startswith(b"RTSP/1.0 200"):
            return None
        why = f"answered {reply[:32]!r}"
    state = "no process"
    if server.pid is not None:
        try:
            stat = Path(f"/proc/{server.pid}/stat").read_text()
            state = f"pid {server.pid} state {stat.rsplit(')', 1)[1].split()[0]}"
        except OSError:
            state = f"pid {server.pid} gone"
    return f"port {server.port}: {why} ({state})"


def _poll(condition: Callable[[], bool], deadline_s: float) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@contextlib.contextmanager
def _servers(count: int) -> Iterator[list[RtspServer]]:
    servers = [RtspServer(pattern="smpte") for _ in range(count)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.close()


def drop_cycles(
    folder: Path,
    *,
    cameras: int,
    cycles: int,
    video_loss_s: float = 5.0,
    deadline_s: float = 90.0,
    progress: Callable[[int, DropFigures], None] | None = None,
) -> DropFigures:
    """Run `cycles` drop/return cycles over `cameras` RTSP cameras (see the module's doc)."""
    from console.runtime import RuntimeOptions, SiteRuntime
    from console.site_file import load_site
    from console.store import Outcome, Store, audit_entries, list_alarms
    from inference.worker_pool import DetectorSpec

    figures = DropFigures(cameras)
    began = time.monotonic()
    watch = _Watch()
    fds_before = open_fds()
    processes_before = set(descendants())
    startup: Counter[str] = Counter()
    with _servers(cameras) as servers:

        def server_pids() -> set[int]:
            return {s.pid for s in servers if s.pid is not None}

        site_path = reliability_site(
            folder / "site",
            [s.url for s in servers],
            rules=["camera_health"],
            video_loss_s=video_loss_s,
            frozen_s=86400,  # the test picture is still on purpose
        )
        ids = [camera_id(i) for i in range(cameras)]
        store = Store(f"sqlite:///{folder / 'nightwatch.db'}")
        runtime = SiteRuntime(
            load_site(site_path),
            store,
            RuntimeOptions(detector=DetectorSpec("ssdlite"), cpu_workers=1),
            on_alarm=watch.on_alarm,
            on_status=watch.on_status,
        )
        runtime.start()
        try:
            rings = runtime.pipeline.rings

            def resolve_open() -> int:
                """The monitor acknowledges and resolves each camera alarm, on the core thread
                (straight to the alarm manager: this battery is about cameras, not roles)."""
                done = 0
                for alarm in runtime.alarms.open_alarms():
                    if alarm.rule != "camera_health":
                        continue

                    def handle(alarm_id: int = alarm.alarm_id) -> None:
                        runtime.alarms.acknowledge(alarm_id, USER)
                        runtime.alarms.resolve(alarm_id, Outcome.OTHER, USER, note="camera back")

                    try:
                        runtime.core.post(handle).result(timeout=60)
                    except Exception as exc:  # an illegal step: the battery's own mistake
                        figures.problems.append(f"alarm {alarm.alarm_id}: {exc}")
                    done += 1
                return done

            def all_live() -> bool:
                return all(rings[c].write_seq > 0 for c in ids)

            if not _poll(all_live, deadline_s):
                # a test server that does not answer its own port is power-cycled, as in a
                # cycle; a camera whose server answers and that stays dark is the console's
                for server, camera in zip(servers, ids, strict=True):
                    hung = server_answers(server) if rings[camera].write_seq == 0 else None
                    if hung is not None:
                        figures.server_hangs.append(f"start: {camera}: {hung}")
                        server.restart()
            if not _poll(all_live, deadline_s):
                late = [c for c in ids if rings[c].write_seq == 0]
                figures.problems.append(f"cameras never live: {late}")
                return figures
            time.sleep(1.5)  # a tick of the core after the last camera's first frame
            startup = Counter(camera for _, camera, _ in watch.raised)
            figures.startup_alarms = sum(startup.values())
            resolve_open()

            def own() -> set[int]:
                return {p for p in descendants() if p not in server_pids()}

            for cycle in range(cycles):
                _one_cycle(cycle, servers, ids, rings, watch, figures, deadline_s)
                if figures.problems:
                    break
                time.sleep(1.5)  # a tick of the core after the cameras came back
                resolve_open()
                runtime.alarms.flush(timeout_s=60)
                figures.cycles += 1
                figures.fds.append(open_fds())
                figures.processes.append(len(own()))
                figures.rings.append(len(rings_of()))
                if figures.rings[-1] != cameras:
                    figures.problems.append(f"cycle {cycle}: {figures.rings[-1]} rings")
                if figures.processes[-1] != figures.processes[0]:
                    figures.problems.append(f"cycle {cycle}: processes {own()}")
                if figures.fds[-1] > figures.fds[0] + FD_SLACK:
                    figures.problems.append(
                        f"cycle {cycle}: {figures.fds[-1]} file descriptors open, "
                        f"{figures.fds[0]} after the first cycle"
                    )
                figures.seconds = time.monotonic() - began  # so far (the end sets it again)
                if progress is not None:
                    progress(cycle, figures)
                if figures.problems:
                    break
        finally:
            runtime.stop()
            report = store.close(timeout_s=30)
        if not report.all_stored:
            figures.problems.append(f"close: {report}")
        left = {p: c for p, c in descendants().items() if p not in server_pids()}
        left = {p: c for p, c in left.items() if p not in processes_before}
        left = {p: c for p, c in left.items() if "resource_tracker" not in c}
        if left:
            figures.problems.append(f"processes left after stop: {left}")
        if rings_of():
            figures.problems.append(f"rings left after stop: {rings_of()}")
        with Store(f"sqlite:///{folder / 'nightwatch.db'}", read_only=True) as reader:
            stored = reader.read(list_alarms, rule="camera_health")
            silenced = [
                e
                for e in reader.read(audit_entries)
                if e.action == "alarm.rearm_suppressed" and e.detail.get("rule") == "camera_health"
            ]
        if silenced:  # a camera lost again right after its alarm was resolved is a new outage
            figures.problems.append(f"{len(silenced)} video losses silenced by re-arming")
    # servers closed: descriptors back to where they were (the store's closed, its files too)
    fds_after = open_fds()
    if fds_after > fds_before + FD_SLACK:
        figures.problems.append(f"{fds_after} descriptors open after the stop, {fds_before} before")
    per_camera = Counter(a.camera_id for a in stored)
    figures.stored = {c: per_camera[c] for c in ids}
    for alarm in stored:
        if alarm.state.value != "resolved":
            figures.problems.append(f"alarm {alarm.id} on {alarm.camera_id} left {alarm.state}")
    for camera in ids:  # one per outage, and those of the start
        expected = figures.cycles + startup[camera]
        if per_camera[camera] != expected:
            figures.problems.append(
                f"{camera}: {per_camera[camera]} video-loss alarms stored, {expected} outages"
            )
    figures.seconds = time.monotonic() - began
    return figures


def _one_cycle(
    cycle: int,
    servers: list[RtspServer],
    ids: list[str],
    rings: dict[str, object],
    watch: _Watch,
    figures: DropFigures,
    deadline_s: float,
) -> None:
    kinds = {c: KINDS[(cycle + i) % len(KINDS)] for i, c in enumerate(ids)}
    dropped: dict[str, float] = {}
    for server, camera in zip(servers, ids, strict=True):
        dropped[camera] = time.monotonic()
        if kinds[camera] == "kill":
            server.kill()
        else:
            server.freeze()
    for camera in ids:
        if not _poll(lambda c=camera: watch.alarm_after(c, dropped[c]) is not None, deadline_s):
            figures.problems.append(
                f"cycle {cycle}: no video-loss alarm for {camera} ({kinds[camera]}) within "
                f"{deadline_s:.0f} s"
            )
            continue
        at, _ = watch.alarm_after(camera, dropped[camera])  # type: ignore[misc]
        figures.alarm_s[kinds[camera]].append(at - dropped[camera])
    figures.outages += len(ids)
    before = {c: rings[c].write_seq for c in ids}  # type: ignore[attr-defined]
    back: dict[str, float] = {}
    for server, camera in zip(servers, ids, strict=True):
        back[camera] = time.monotonic()
        if kinds[camera] == "kill":
            server.start()
        elif kinds[camera] == "freeze":
            server.thaw()
        else:
            server.restart()
    waiting = set(ids)
    _wait_back(waiting, rings, before, back, kinds, figures, deadline_s)
    for server, camera in zip(servers, ids, strict=True):
        if camera not in waiting:
            continue
        hung = server_answers(server)
        if hung is None:  # the server answers, the camera stays dark: the console's fault
            continue
        figures.server_hangs.append(f"cycle {cycle}: {camera} ({kinds[camera]}): {hung}")
        figures.hung[kinds[camera]] += 1
        server.restart()  # a camera that stopped answering, power-cycled
        back[camera] = time.monotonic()
    if waiting:
        _wait_back(waiting, rings, before, back, kinds, figures, deadline_s, count=False)
    if waiting:
        figures.problems.append(f"cycle {cycle}: {sorted(waiting)} not back in {deadline_s:.0f} s")
        return
    for camera in ids:  # the core hears of it
        if not _poll(lambda c=camera: watch.live_after(c, back[c]), deadline_s):
            figures.problems.append(f"cycle {cycle}: {camera} never reported live again")


def _wait_back(
    waiting: set[str],
    rings: dict[str, object],
    before: dict[str, int],
    back: dict[str, float],
    kinds: dict[str, str],
    figures: DropFigures,
    deadline_s: float,
    *,
    count: bool = True,
) -> None:
    """Until `deadline_s` has passed, take each camera with a new frame out of `waiting`, and
    (with `count`) record the seconds since its server returned. A camera back only after its
    hung test server was power-cycled is not counted: that time measures the test server."""
    end = time.monotonic() + deadline_s
    while waiting and time.monotonic() < end:
        for camera in list(waiting):
            if rings[camera].write_seq > before[camera]:  # type: ignore[attr-defined]
                if count:
                    figures.back_s[kinds[camera]].append(time.monotonic() - back[camera])
                waiting.discard(camera)
        time.sleep(0.02)
