"""A real Triton Inference Server on loopback for the tests and the benchmark.

It runs the server binary that packaging/triton-test-server.sh sets up (in
~/.cache/nightwatch/triton, or where NIGHTWATCH_TRITON_HOME points) on free loopback ports,
serving a model repository written by `inference.detectors.ssdlite_triton`.
`TritonServer.unavailable()` says why it cannot run here (the tests skip with that reason).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

SETUP = "bash packaging/triton-test-server.sh"


def triton_home() -> Path:
    return Path(
        os.environ.get("NIGHTWATCH_TRITON_HOME", Path.home() / ".cache" / "nightwatch" / "triton")
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TritonServer:
    """`with TritonServer(repository) as server:` ... `server.grpc` is "127.0.0.1:PORT"."""

    def __init__(self, repository: Path, log: Path, home: Path | None = None) -> None:
        self.home = home or triton_home()
        self.repository = repository
        self.log = log
        self.grpc = ""
        self._process: subprocess.Popen[bytes] | None = None

    @classmethod
    def unavailable(cls, home: Path | None = None) -> str | None:
        home = home or triton_home()
        needed = [
            home / "server/pytriton/tritonserver/bin/tritonserver",
            home / "backends/python/triton_python_backend_stub",
            home / "env/bin/python",
        ]
        missing = [str(p) for p in needed if not p.exists()]
        if missing:
            return f"no Triton test server ({', '.join(missing)} missing): run `{SETUP}`"
        if importlib_missing("tritonclient.grpc"):
            return "tritonclient[grpc] is not installed (the `triton` extra: pip install .[triton])"
        return None

    def site_packages(self) -> Path:
        (found,) = (self.home / "env" / "lib").glob("python3.*/site-packages")
        return found

    def start(self, timeout_s: float = 120.0) -> None:
        port = _free_port()
        self.grpc = f"127.0.0.1:{port}"
        env = dict(os.environ)
        libs = str(self.home / "server/nvidia_pytriton.libs")
        env["LD_LIBRARY_PATH"] = libs + (
            f":{env['LD_LIBRARY_PATH']}" if env.get("LD_LIBRARY_PATH") else ""
        )
        with self.log.open("wb") as out:
            self._process = subprocess.Popen(
                [
                    str(self.home / "server/pytriton/tritonserver/bin/tritonserver"),
                    f"--model-repository={self.repository}",
                    f"--backend-directory={self.home / 'backends'}",
                    "--grpc-address=127.0.0.1",
                    f"--grpc-port={port}",
                    "--allow-http=false",
                    "--allow-metrics=false",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        import tritonclient.grpc as grpcclient

        client = grpcclient.InferenceServerClient(url=self.grpc)
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise RuntimeError(f"tritonserver exited: {self.log.read_text()[-2000:]}")
                try:
                    if client.is_server_ready(client_timeout=1.0):
                        return
                except Exception:  # not listening yet
                    pass
                time.sleep(0.5)
        finally:
            client.close()
        self.stop()
        raise TimeoutError(f"tritonserver not ready in {timeout_s:.0f} s; log {self.log}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def __enter__(self) -> TritonServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def importlib_missing(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is None
    except ModuleNotFoundError:
        return True


if __name__ == "__main__":  # python -m tests.triton_server: say whether it can run here
    reason = TritonServer.unavailable()
    print(reason or f"Triton test server available in {triton_home()}")
    sys.exit(1 if reason else 0)
