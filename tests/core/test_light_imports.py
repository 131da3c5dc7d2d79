"""The light parts stay light: each is imported in a fresh interpreter and must not load a heavy library.

The camera config (``detector.config``) is read by the device check (``detector.check``, which must work
when the vision stack is broken) and written by the platform's provisioning, neither of which may need
OpenCV, NumPy, MediaPipe or PyTorch (DESIGN.md §2). The core
(``nitrosignal``) needs neither the vision stack nor the platform's web and database stack.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

VISION = ("cv2", "numpy", "mediapipe", "torch")
PLATFORM_STACK = ("fastapi", "sqlalchemy", "uvicorn")


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("nitrosignal.wire", VISION + PLATFORM_STACK),
        ("nitrosignal.keys", VISION + PLATFORM_STACK),
        ("nitrosignal.modelcard", VISION + PLATFORM_STACK),
        ("nitrosignal.confighash", VISION + PLATFORM_STACK),
        ("nitrosignal.cli", VISION + PLATFORM_STACK),
        ("detector.config", VISION + PLATFORM_STACK),
        ("detector.cli", VISION + PLATFORM_STACK),
        ("detector.check", VISION + PLATFORM_STACK),
        ("nitroplatform.ops.provision", VISION),
    ],
)
def test_importing_loads_no_heavy_library(module: str, forbidden: tuple[str, ...]) -> None:
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout))
    assert sorted(name for name in forbidden if name in loaded) == [], f"{module} loads a heavy library"
