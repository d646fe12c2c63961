"""`nightwatch run SITE --headless`: the whole pipeline without a window, alarms to the log.

Cameras, detection, rules, alarms and the store run as in the console; each alarm and each
camera status change is logged. Headless, the console runs as the service user
`nightwatch-service` (audited `service.start` / `service.stop`), which may do nothing a person
asks: it only does what the core does by itself. A real site never has default accounts: the
first start with none asks for the first supervisor on the terminal (or says how to make one).
Ctrl-C (or SIGTERM) stops cleanly: the pipeline's processes are
joined and every queued write reaches the database before the command exits; if a storage fault
keeps writes out past the store's close timeout, the command says how many, which, and why, and
exits 1 instead of claiming "every alarm is stored".

The site file is watched while it runs: a valid edit is applied within a few seconds without a
restart (no camera stream dropped, no open alarm lost) and recorded; a bad one is refused,
printed and audited, and the running site stays (console/site_apply.py).
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from console.commands import stop_on_signals
from console.commands.detect import add_detector_arguments

if TYPE_CHECKING:
    from console.runtime import RuntimeOptions


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="watch a site: cameras, detection, rules, alarms")
    parser.add_argument("site", type=Path, metavar="SITE")
    parser.add_argument("--headless", action="store_true", help="no window; alarms to the log")
    parser.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the alarm store")
    parser.add_argument(
        "--workers",
        type=int,
        help="detector workers: CPU workers, or Triton clients (default: the site file's, else "
        "cores / 2; 2 Triton clients)",
    )
    parser.add_argument(
        "--cameras-per-capture-process",
        type=_at_least_one,
        default=16,
        metavar="N",
        help="cameras decoded by one capture process (default 16; 8 brings RTSP cameras back "
        "sooner after a server restart, at about 110 MB more memory per 8 cameras)",
    )
    add_priority_argument(parser)
    add_detector_arguments(parser, site_chooses=True)
    parser.set_defaults(func=run)


def add_priority_argument(parser: argparse.ArgumentParser) -> None:
    from inference.priority import BACKGROUND_NICE

    parser.add_argument(
        "--background-nice",
        type=_nice,
        default=BACKGROUND_NICE,
        metavar="N",
        help=f"run the capture, detector, recorder and clip processes N steps lower in CPU "
        f"priority than the console, so that its window and alarm core come first on a busy "
        f"machine (0..19, default {BACKGROUND_NICE}; 0: the same priority)",
    )


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _nice(text: str) -> int:
    from inference.priority import checked_nice

    try:
        return checked_nice(int(text), "--background-nice")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def runtime_options(args: argparse.Namespace) -> RuntimeOptions:
    """The runtime options the detector and worker arguments ask for: the detector None when
    none of --detector, --weights, --device is given (the site file's choice, else auto)."""
    from console.detection import asked_detector
    from console.runtime import RuntimeOptions
    from inference.priority import BACKGROUND_NICE

    return RuntimeOptions(
        detector=asked_detector(args.detector, args.weights, args.device),
        cpu_workers=args.workers,
        cameras_per_capture_process=getattr(args, "cameras_per_capture_process", 16),
        background_nice=getattr(args, "background_nice", BACKGROUND_NICE),
    )


def run(args: argparse.Namespace) -> int:
    if not args.headless:
        print(
            "nightwatch run: the console window comes with the `nightwatch` command "
            "(ui.cli); here, add --headless",
            file=sys.stderr,
        )
        return 2
    return run_headless(args.site, runtime_options(args), db_url=args.db)


def run_headless(site_path: Path, options: RuntimeOptions, *, db_url: str | None = None) -> int:
    """Watch a site without a window until Ctrl-C or SIGTERM; alarms and camera states printed."""
    from dataclasses import replace

    from console.accounts import SERVICE_USER
    from console.alarms import Alarm
    from console.alerts.router import AlertNotice
    from console.commands.sign_in import first_supervisor_on_terminal, station
    from console.interpreter import settle_interpreter
    from console.runtime import SiteNotice, SiteRunError, SiteRuntime
    from console.site_file import SiteFileError, load_site
    from console.store import Store, StoreError, StoreHealth
    from inference.sources import StatusChange, mask_credentials

    try:
        site = load_site(site_path)
    except SiteFileError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 1

    printed: dict[int, tuple[str, bool, str | None]] = {}

    def on_alarm(alarm: Alarm) -> None:
        # one line per step a person would care about (not per fold or per write)
        seen = (alarm.state.value, alarm.escalated, alarm.storage_fault)
        if printed.get(alarm.alarm_id) == seen:
            return
        printed[alarm.alarm_id] = seen
        tracks = ",".join(str(t) for t in alarm.track_ids) or "-"
        print(
            f"alarm {alarm.alarm_id} {alarm.state.value}: {alarm.rule} {alarm.subject_id} on "
            f"{alarm.camera_id} severity {alarm.severity} tracks {tracks}"
            + (" ESCALATED" if alarm.escalated else "")
            + (f" NOT STORED ({alarm.storage_fault})" if alarm.storage_fault else ""),
            flush=True,
        )

    def on_store_health(health: StoreHealth) -> None:
        if health.fault is not None:
            print(
                f"STORAGE FAULT: {health.fault}; alarms are kept and written when the disk is "
                f"back ({health.pending} waiting)",
                file=sys.stderr,
                flush=True,
            )
        else:
            print("storage is back: the waiting writes are stored", file=sys.stderr, flush=True)

    def on_alert_notice(notice: AlertNotice) -> None:
        # what became of gallery alerts and supervisor pages, in the router's words
        if notice.state == "warning":
            print(f"ALERTS: {notice.text}", file=sys.stderr, flush=True)
        elif notice.final:
            about = f"{notice.about}: " if notice.about else ""
            print(f"alert {about}{notice.text}", flush=True)

    def on_site_notice(notice: SiteNotice) -> None:
        stream = sys.stdout if notice.kind == "applied" else sys.stderr
        print(f"SITE: {notice.text}", file=stream, flush=True)
        for problem in notice.problems[:20]:
            print(f"  {problem}", file=stream, flush=True)

    def on_status(change: StatusChange) -> None:
        print(
            f"camera {change.camera_id} {change.status}: {mask_credentials(change.reason)}",
            flush=True,
        )

    stop = threading.Event()
    runtime: SiteRuntime | None = None
    with stop_on_signals(stop):
        try:
            store = Store(db_url)
        except StoreError as exc:
            print(f"nightwatch run: {exc}", file=sys.stderr)
            return 1
        where = station("headless")
        try:
            runtime = SiteRuntime(
                site,
                store,
                replace(options, site_path=Path(site_path)),
                on_alarm=on_alarm,
                on_status=on_status,
                on_store_health=on_store_health,
                on_alert_notice=on_alert_notice,
                on_site_notice=on_site_notice,
            )
            if not runtime.accounts.has_accounts and not first_supervisor_on_terminal(
                runtime.room, where
            ):
                return 1
            runtime.accounts.start_service(where)  # before the core thread starts
            print(
                f"watching {len(site.cameras)} camera(s) of {site.site.name} as "
                f"{SERVICE_USER}; Ctrl-C stops",
                flush=True,
            )
            print(f"detector: {runtime.detection.describe()}", flush=True)
            settle_interpreter()  # the lock shared finely, startup objects frozen
            try:
                with runtime:
                    while not stop.wait(1.0):
                        error = runtime.pipeline.stats().error
                        if error:
                            print(f"nightwatch run: detector failed: {error}", file=sys.stderr)
                            return 1
            finally:
                runtime.accounts.stop_service(where)  # the core thread has stopped
        except SiteRunError as exc:
            print(f"nightwatch run: {site_path}: {exc}", file=sys.stderr)
            return 1
        finally:
            report = store.close()
            if not report.all_stored:
                print(f"nightwatch run: {report}", file=sys.stderr, flush=True)
    refused = runtime.alarms.unstored if runtime is not None else []  # refused by the store
    for line in refused:
        print(f"nightwatch run: {line}", file=sys.stderr, flush=True)
    if not report.all_stored or refused:
        return 1
    print("stopped; every alarm is stored", flush=True)
    return 0
