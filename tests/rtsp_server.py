"""A tiny real RTSP server for tests, and the controller tests use to run it.

Two halves in one file:

* run as a script with Debian's ``/usr/bin/python3`` (PyGObject and GStreamer's gst-rtsp-server
  live there, not in the project's venv), it serves a live H.264 stream on
  ``rtsp://127.0.0.1:<port><mount>``::

      /usr/bin/python3 tests/rtsp_server.py --port 8554 [--mount /cam] [--file vtest.avi]
                                            [--user U --password P] [--pattern ball]

  The default picture is GStreamer's live ``videotestsrc`` (``--pattern``: its moving ball, or
  a still one such as ``smpte`` that costs a detector little); ``--file`` decodes a real video file
  instead (played once, paced by the pipeline clock; the stream ends with the file). Encoding
  is ``openh264enc`` (Debian has no x264enc), payloading ``rtph264pay pt=96``. With
  ``--user``/``--password`` the mount requires HTTP basic authentication, so a URL's credentials
  are really used.

* imported from the venv's pytest, :class:`RtspServer` starts that script as a child process and
  drives it: ``start()`` (waits until the port accepts), ``kill()`` (SIGKILL), ``freeze()``
  (SIGSTOP), ``thaw()`` (SIGCONT), ``restart()``, ``close()``. The GStreamer imports happen only
  in the script half, so importing this module needs nothing beyond the standard library.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).resolve()


# ---------------------------------------------------------------------------------------------
# controller half (runs in the venv; standard library only)
# ---------------------------------------------------------------------------------------------


def gst_rtsp_server_missing() -> str | None:
    """Why the RTSP server cannot run here, or None when Debian's Python can import it."""
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} not found (the RTSP test server runs under Debian's Python)"
    probe = (
        "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0');"
        "from gi.repository import Gst, GstRtspServer"
    )
    try:
        done = subprocess.run(
            [SYSTEM_PYTHON, "-c", probe], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{SYSTEM_PYTHON} cannot run the GstRtspServer probe: {exc}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return (
            f"{SYSTEM_PYTHON} cannot import GstRtspServer ({last}); install python3-gi "
            "gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good "
            "gstreamer1.0-plugins-bad"
        )
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RtspServer:
    """One RTSP server child process on 127.0.0.1:``port``; every start has its ``close()``."""

    def __init__(
        self,
        port: int | None = None,
        *,
        mount: str = "/cam",
        video_file: Path | None = None,
        user: str | None = None,
        password: str | None = None,
        start_timeout_s: float = 30.0,
        pattern: str = "ball",
    ) -> None:
        self.port = port if port is not None else free_port()
        self.mount = mount if mount.startswith("/") else f"/{mount}"
        self.video_file = video_file
        self.user = user
        self.password = password
        self.start_timeout_s = start_timeout_s
        self.pattern = pattern
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_fd, log_name = tempfile.mkstemp(prefix="rtsp-server-", suffix=".log")
        self.log_path = Path(log_name)
        self.frozen = False

    @property
    def url(self) -> str:
        """The stream's URL (with the credentials when the server requires them)."""
        auth = f"{self.user}:{self.password}@" if self.user is not None else ""
        return f"rtsp://{auth}127.0.0.1:{self.port}{self.mount}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def start(self) -> None:
        """Start the server and return once its port accepts connections."""
        if self.running():
            raise RuntimeError(f"RTSP server on port {self.port} is already running")
        cmd = [SYSTEM_PYTHON, str(SCRIPT), "--port", str(self.port), "--mount", self.mount]
        cmd += ["--pattern", self.pattern]
        if self.video_file is not None:
            cmd += ["--file", str(self.video_file)]
        if self.user is not None:
            cmd += ["--user", self.user, "--password", self.password or ""]
        # Debian's Python must not see the venv (its site-packages would shadow python3-gi).
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._log_fd,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self.frozen = False
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"RTSP server exited with {self._proc.returncode} before listening on "
                    f"port {self.port}:\n{self.log_text()}"
                )
            if self._accepts():
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(
            f"RTSP server did not accept on port {self.port} within {self.start_timeout_s:.0f} s:"
            f"\n{self.log_text()}"
        )

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL the server (as a crash or a pulled cable would) and reap it."""
        proc, self._proc = self._proc, None
        self.frozen = False
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()  # SIGKILL also ends a stopped (frozen) process
        proc.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP: the server keeps its connections open but sends nothing more."""
        self._signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        """SIGCONT: a frozen server carries on."""
        self._signal(signal.SIGCONT)
        self.frozen = False

    def restart(self) -> None:
        """Kill the server and start a new one on the same port and mount."""
        self.kill()
        self.start()

    def close(self) -> None:
        """Stop the process (if any) and remove its log; safe to call more than once."""
        self.kill()
        with contextlib.suppress(OSError):
            os.close(self._log_fd)
        self._log_fd = -1
        with contextlib.suppress(OSError):
            self.log_path.unlink()

    def _signal(self, sig: signal.Signals) -> None:
        if not self.running():
            raise RuntimeError(f"RTSP server on port {self.port} is not running")
        assert self._proc is not None
        self._proc.send_signal(sig)

    def __enter__(self) -> RtspServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# server half (runs under Debian's /usr/bin/python3 with python3-gi)
# ---------------------------------------------------------------------------------------------


def _launch_line(video_file: str | None, pattern: str = "ball") -> str:
    encode = (
        "videoconvert ! video/x-raw,format=I420 ! "
        "openh264enc gop-size=10 complexity=low rate-control=bitrate bitrate=500000 ! "
        "h264parse ! rtph264pay name=pay0 pt=96 config-interval=1"
    )
    if video_file:
        source = (
            f'filesrc location="{video_file}" ! decodebin ! videoconvert ! videoscale ! '
            "video/x-raw,width=384,height=288 ! videorate ! video/x-raw,framerate=10/1"
        )
    else:
        source = (
            f"videotestsrc is-live=true pattern={pattern} ! "
            "video/x-raw,width=320,height=240,framerate=10/1"
        )
    return f"( {source} ! {encode} )"


def _die_with_parent() -> None:
    """Linux: get SIGKILL when the parent (pytest) dies, so no server outlives a killed run."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent died before prctl took effect
        sys.exit(1)


def serve(
    port: int,
    mount: str,
    video_file: str | None,
    user: str | None,
    password: str,
    pattern: str = "ball",
) -> None:
    _die_with_parent()
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(_launch_line(video_file, pattern))
    factory.set_shared(True)
    if user is not None:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role(
            "viewer", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True
        )
        permissions.add_permission_for_role(
            "viewer", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True
        )
        factory.set_permissions(permissions)
    server.get_mount_points().add_factory(mount, factory)
    if server.attach(None) == 0:
        print(f"rtsp_server: cannot listen on 127.0.0.1:{port}", flush=True)
        sys.exit(2)
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    print(f"rtsp_server: serving rtsp://127.0.0.1:{port}{mount}", flush=True)
    loop.run()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mount", default="/cam")
    parser.add_argument("--file", default=None, help="a video file to stream instead of a test")
    parser.add_argument("--user", default=None)
    parser.add_argument("--password", default="")
    parser.add_argument("--pattern", default="ball", help="videotestsrc's pattern (ball, smpte)")
    args = parser.parse_args(argv)
    serve(args.port, args.mount, args.file, args.user, args.password, args.pattern)


if __name__ == "__main__":
    main()
