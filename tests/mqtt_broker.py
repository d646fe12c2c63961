"""A real MQTT broker for tests: Debian's mosquitto on 127.0.0.1, a free port, a generated config.

    broker = MosquittoBroker(tmp_path)                      # anonymous, loopback only
    broker = MosquittoBroker(tmp_path, users={"gallery": "pw"})   # a password file, no anonymous
    broker.start()          # waits until the port accepts
    broker.kill()           # SIGKILL, as a crashed broker
    broker.close()

No persistence (nothing survives a kill), one listener bound to 127.0.0.1 only. `Subscriber` is a
real paho client on its own network thread (joined at `close()`), collecting what it receives.
"""

from __future__ import annotations

import getpass
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
INSTALL = "apt-get install mosquitto (packaging/bootstrap.sh test installs it)"


def mosquitto_missing() -> str | None:
    """Why no broker can run here, or None."""
    if not os.access(MOSQUITTO, os.X_OK):
        return f"Debian's mosquitto is not installed ({MOSQUITTO} not found): {INSTALL}"
    try:
        import paho.mqtt.client  # noqa: F401
    except ImportError as exc:
        return f"paho-mqtt is not installed ({exc}): pip install -e .[test]"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MosquittoBroker:
    def __init__(self, folder: Path, *, users: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.users = users
        self.port = free_port()
        self.log_path = folder / "mosquitto.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def _config(self) -> Path:
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence false",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if os.geteuid() == 0:
            lines.append(f"user {getpass.getuser()}")  # not the `mosquitto` account
        if self.users:
            passwd = self.folder / "passwd"
            passwd.write_text("")
            passwd.chmod(0o600)
            for user, password in self.users.items():
                subprocess.run(
                    [MOSQUITTO_PASSWD, "-b", str(passwd), user, password],
                    check=True,
                    capture_output=True,
                    timeout=30,
                )
            lines += ["allow_anonymous false", f"password_file {passwd}"]
        else:
            lines.append("allow_anonymous true")  # the listener is on loopback only
        config = self.folder / "mosquitto.conf"
        config.write_text("\n".join(lines) + "\n")
        return config

    def start(self, timeout_s: float = 15.0) -> None:
        """Start the broker (on the same port after a kill) and wait until it accepts."""
        config = self._config()
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [MOSQUITTO, "-c", str(config)], stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.close()
        raise RuntimeError(f"mosquitto did not start: {self.log_path.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL, as a broker that crashed; waits until the port is closed."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def close(self) -> None:
        self.kill()

    def __enter__(self) -> MosquittoBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Subscriber:
    """A real paho subscriber to `topic` (QoS 1) on the broker; messages as (topic, JSON)."""

    def __init__(
        self, port: int, topic: str = "#", *, user: str | None = None, password: str | None = None
    ) -> None:
        import paho.mqtt.client as mqtt

        self.messages: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        subscribed: queue.Queue[bool] = queue.Queue()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="nightwatch-test-sub")
        if user is not None:
            client.username_pw_set(user, password)

        def on_connect(c: Any, _u: Any, _f: Any, code: Any, _p: Any) -> None:
            c.subscribe(topic, qos=1)

        def on_subscribe(*_args: Any) -> None:
            subscribed.put(True)

        def on_message(_c: Any, _u: Any, message: Any) -> None:
            self.messages.put((message.topic, json.loads(message.payload)))

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_message = on_message
        client.connect("127.0.0.1", port, keepalive=30)
        client.loop_start()
        self._client = client
        subscribed.get(timeout=15)

    def next(self, timeout_s: float = 15.0) -> tuple[str, dict[str, Any]]:
        return self.messages.get(timeout=timeout_s)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
