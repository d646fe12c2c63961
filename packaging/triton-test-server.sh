#!/usr/bin/env bash
# A real Triton Inference Server for Nightwatch's tests and benchmarks, on this machine's CPU.
#
#   bash packaging/triton-test-server.sh        set it up in ~/.cache/nightwatch/triton (once)
#
# Not for production: a museum runs NVIDIA's Triton container on its GPU server
# (docs/triton.md). Here it serves the tests (tests/integration/test_triton.py) and the
# benchmark (bench/triton_backend.py), which find it here or where NIGHTWATCH_TRITON_HOME points.
# What is here, measured on Debian 12 (glibc 2.36), Python 3.11, no GPU:
# - PyPI's `tritonserver` 2.73.0 (the in-process Python API) has only cp312 wheels for glibc 2.39:
#   it cannot install here.
# - `nvidia-pytriton` 0.7.0 bundles a real `tritonserver` binary (Triton 2.51.0) with the Python
#   backend, for glibc 2.35: it runs on the CPU here. Its own Python package pins numpy<2, which
#   the console's environment cannot take, so it is installed with --no-deps into a folder of its
#   own and only its server binary is used (pytriton is never imported).
# - The Python backend's stub is built against numpy 1.x (with numpy 2 it reads zeros), so the
#   model's Python code runs in a small environment of its own: numpy 1.26 and OpenVINO.
# The bundle has only the Python backend (no ONNX Runtime or OpenVINO backend), so a model is
# served by a small model.py that runs OpenVINO itself (inference/detectors/ssdlite_triton.py
# writes it). The backend's stub for this Python goes into a backend folder of our own
# ($home/backends), and the server needs the bundle's libraries on LD_LIBRARY_PATH for it.
# The last step starts the server on loopback with an empty model repository and waits until it
# says it is ready (2026-11-30: ready in about 10 s on the busy 2-core build machine).
set -euo pipefail

home="${NIGHTWATCH_TRITON_HOME:-$HOME/.cache/nightwatch/triton}"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3
say() { printf '\033[1mtriton test server:\033[0m %s\n' "$*"; }

mkdir -p "$home"
if [ ! -x "$home/server/pytriton/tritonserver/bin/tritonserver" ]; then
  say "installing the server binary (nvidia-pytriton 0.7.0, --no-deps) into $home/server"
  "$python" -m pip install -q --no-deps --target "$home/server" nvidia-pytriton==0.7.0
fi
if [ ! -x "$home/env/bin/python" ] || ! "$home/env/bin/python" -c 'import numpy, openvino' 2>/dev/null; then
  say "making the model environment (numpy 1.26, OpenVINO) in $home/env"
  "$python" -m venv --clear "$home/env"
  # openvino's only other requirement is its telemetry client, which the model never imports
  "$home/env/bin/python" -m pip install -q numpy==1.26.4
  "$home/env/bin/python" -m pip install -q --no-deps openvino==2026.4.1
fi
bundle="$home/server/pytriton/tritonserver"
version="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
mkdir -p "$home/backends/python"
cp "$bundle/backends/python/libtriton_python.so" "$bundle/backends/python/triton_python_backend_utils.py" \
  "$home/backends/python/"
cp "$bundle/python_backend_stubs/$version/triton_python_backend_stub" "$home/backends/python/"
export LD_LIBRARY_PATH="$home/server/nvidia_pytriton.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# check: the server starts on loopback and answers its readiness probe
repo="$(mktemp -d)"
log="$home/check.log"
port=$(( 20000 + RANDOM % 20000 ))
"$bundle/bin/tritonserver" --model-repository="$repo" --backend-directory="$home/backends" \
  --http-address=127.0.0.1 --http-port="$port" --allow-grpc=false --allow-metrics=false \
  >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$repo"' EXIT
for _ in $(seq 1 60); do
  if "$python" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/v2/health/ready', timeout=1)" 2>/dev/null; then
    say "ready: $home (the server answered on 127.0.0.1:$port)"
    exit 0
  fi
  kill -0 "$server" 2>/dev/null || break
  sleep 1
done
say "the server did not become ready; its log: $log"
exit 1
