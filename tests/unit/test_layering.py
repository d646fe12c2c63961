"""The layering `ui -> console -> inference`, and heavy imports kept where they are used."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# package -> top-level modules it must never import
FORBIDDEN = {
    "inference": {"console", "ui", "resources", "PySide6", "pyqtgraph", "shiboken6"},
    "console": {"ui", "PySide6", "pyqtgraph", "shiboken6"},
    # the demo museum's generator (and what else ships beside the code) builds on the core
    "resources": {"ui", "PySide6", "pyqtgraph", "shiboken6"},
}
# the core never imports resources/, except `nightwatch demo`, which builds the demo museum
RESOURCES_ALLOWED_IN = {"console/commands/demo.py"}
# torch and ultralytics are imported by the YOLO backend alone, inside its worker process
HEAVY = {"torch", "ultralytics", "torchvision"}
HEAVY_ALLOWED = {"inference/detectors/yolo.py"}
# OpenVINO is imported in one place, which blocks its telemetry first, inside the worker
OPENVINO = {"openvino", "openvino_telemetry"}
OPENVINO_ALLOWED = {"inference/detectors/openvino_runtime.py"}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def sources(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def test_every_layer_has_code() -> None:
    for package in ("inference", "console", "ui"):
        assert sources(package), f"{package}/ has no Python files"


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_upper_ones(package: str) -> None:
    breaks = [
        f"{path.relative_to(REPO)}:{line}: imports {name}"
        for path in sources(package)
        for line, name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN[package]
    ]
    assert not breaks, "layering broken (ui -> console -> inference):\n" + "\n".join(breaks)


def test_the_core_does_not_import_resources() -> None:
    breaks = [
        f"{path.relative_to(REPO)}:{line}: imports {name}"
        for path in sources("console")
        if str(path.relative_to(REPO)) not in RESOURCES_ALLOWED_IN
        for line, name in imported_modules(path)
        if name.split(".")[0] == "resources"
    ]
    assert not breaks, "the core imports resources/:\n" + "\n".join(breaks)
    demo = REPO / "console" / "commands" / "demo.py"
    assert any(name.startswith("resources.") for _, name in imported_modules(demo))
    top_level = [
        alias.name if isinstance(node, ast.Import) else node.module or ""
        for node in ast.parse(demo.read_text()).body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [name for name in top_level if name.split(".")[0] == "resources"], (
        "console/commands/demo.py imports resources at module level: the CLI would load the "
        "demo generator on every start"
    )


def test_torch_only_in_the_yolo_backend() -> None:
    breaks = [
        f"{path.relative_to(REPO)}:{line}: imports {name}"
        for package in ("inference", "console", "ui", "resources")
        for path in sources(package)
        if str(path.relative_to(REPO)) not in HEAVY_ALLOWED
        for line, name in imported_modules(path)
        if name.split(".")[0] in HEAVY
    ]
    assert not breaks, "torch/ultralytics imported outside the YOLO backend:\n" + "\n".join(breaks)


def test_openvino_only_in_its_runtime_module() -> None:
    found = {
        str(path.relative_to(REPO)): name
        for package in ("inference", "console", "ui")
        for path in sources(package)
        for _, name in imported_modules(path)
        if name.split(".")[0] in OPENVINO
    }
    assert set(found) == OPENVINO_ALLOWED, f"openvino imported in: {found}"


def test_the_detector_checker_finds_a_planted_break(tmp_path: Path) -> None:
    planted = tmp_path / "bad.py"
    planted.write_text("def f():\n    from console.cli import main\n    import torch.nn\n")
    names = [name for _, name in imported_modules(planted)]
    assert names == ["console.cli", "torch.nn"]


def test_cli_and_core_start_without_torch_or_openvino() -> None:
    code = (
        "import sys, ui.cli, console.cli, inference.worker_pool, inference.scheduler, "
        "inference.frame_ring, inference.detections\n"
        "console.cli.build_parser({'run': ui.cli._RunWithWindow, 'demo': ui.cli._DemoWithWindow})\n"
        "heavy = sorted(m for m in ('torch', 'ultralytics', 'PySide6', 'openvino') "
        "if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"imported at start-up: {out.stdout.strip()}"
