"""The device install: the `detector` extra without torch, mediapipe by platform, resolvable for aarch64.

A camera runs the detector from ``pip install nitrosignal[detector]`` (or the image in deploy/device/). These
tests keep that install a device install: no torch anywhere on the detector's import path (checked in a
fresh interpreter that refuses to import it), and every dependency available as a binary wheel for a
64-bit ARM device with Python 3.11 (checked against the package index; skipped when it cannot be reached).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[3]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
DEVICE_LIST = REPO / "deploy" / "device" / "requirements.txt"
# Wheels for a device with glibc 2.28 or later (Debian 10+, Ubuntu 20.04+, Raspberry Pi OS 11+, Jetson Linux
# 35+). manylinux2014 alone (glibc 2.17) is too old: onnxruntime has had no such aarch64 wheel since 1.16,
# nor have current pyzmq, pillow and scipy.
AARCH64_PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")


def _requirements(names: list[str]) -> list[Requirement]:
    return [Requirement(text) for text in names]


def device_list() -> list[Requirement]:
    """The pinned device install (deploy/device/requirements.txt), comments left out."""
    lines = [line.split("#", 1)[0].strip() for line in DEVICE_LIST.read_text().splitlines()]
    return [Requirement(line) for line in lines if line]


def _target(machine: str) -> dict[str, str]:
    return {key: str(value) for key, value in default_environment().items()} | {
        "platform_machine": machine,
        "sys_platform": "linux",
        "platform_system": "Linux",
        "python_version": "3.11",
        "python_full_version": "3.11.9",
        "implementation_name": "cpython",
    }


def for_machine(requirements: list[Requirement], machine: str) -> list[str]:
    """The requirements that apply on Linux ``machine`` with Python 3.11, without their markers."""
    chosen = []
    for requirement in requirements:
        if requirement.marker is None or requirement.marker.evaluate(_target(machine)):
            requirement.marker = None
            chosen.append(str(requirement))
    return chosen


def requirements_for(machine: str) -> list[str]:
    """The core and `detector` requirements that apply on Linux ``machine`` with Python 3.11, markers resolved.

    pip evaluates environment markers against the interpreter running it, not against ``--platform``, so the
    markers are evaluated here for the target machine and handed to pip without them.
    """
    extra = PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["detector"]
    return for_machine(_requirements(extra), machine)


def test_the_device_list_pins_the_extra_and_leaves_out_what_the_detector_never_imports() -> None:
    pinned = {requirement.name.lower(): requirement for requirement in device_list()}
    assert all(len(r.specifier) == 1 and next(iter(r.specifier)).operator == "==" for r in pinned.values())
    for machine in ("x86_64", "aarch64"):
        versions = {Requirement(text).name.lower(): Requirement(text) for text in for_machine(device_list(), machine)}
        for wanted in map(Requirement, requirements_for(machine)):
            assert wanted.name.lower() in versions, f"{wanted.name} is in the extra but not in {DEVICE_LIST.name}"
            version = next(iter(versions[wanted.name.lower()].specifier)).version
            assert wanted.specifier.contains(version), f"{wanted.name}=={version} breaks the extra's {wanted}"
    names = set(pinned)
    assert not names & {"torch", "torchvision", "jax", "jaxlib", "scipy", "opencv-contrib-python", "opencv-python"}
    assert "opencv-python-headless" in names


def test_the_detector_extra_has_no_torch_and_training_keeps_it() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    detector = {Requirement(text).name for text in extras["detector"]}
    training = {Requirement(text).name for text in extras["training"]}
    assert not detector & {"torch", "torchvision", "triton"}
    assert {"torch", "torchvision", "onnxruntime"} <= training | detector
    assert {"onnxruntime", "mediapipe", "cryptography"} <= detector


@pytest.mark.parametrize(
    ("machine", "mediapipe"),
    [("x86_64", "mediapipe==0.10.21"), ("aarch64", "mediapipe==0.10.18"), ("arm64", "mediapipe==0.10.21")],
)
def test_mediapipe_is_picked_by_platform(machine: str, mediapipe: str) -> None:
    chosen = [text for text in requirements_for(machine) if text.startswith("mediapipe")]
    assert chosen == [mediapipe]


# Imports every module of the detector package, loads and runs the shipped model and one frame of analysis,
# with an import hook that refuses torch: a lazy import on any of these paths fails the run.
_NO_TORCH = r"""
import importlib, importlib.abc, json, pkgutil, sys

class RefuseTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision"):
            raise ImportError(f"{name} is not part of a device install")
        return None

sys.meta_path.insert(0, RefuseTorch())
import detector
modules = sorted(m.name for m in pkgutil.walk_packages(detector.__path__, "detector."))
for name in modules:
    importlib.import_module(name)
import numpy as np
from detector.analysis import FrameAnalyzer
from detector.model import default_model_path, load_model, shipped_signing_key_path
from detector.settings import AnalysisSettings
model = load_model(default_model_path(), trusted_keys=[shipped_signing_key_path()])
model.predict(np.zeros((2, 3, 96, 96), dtype=np.float32))
with FrameAnalyzer(AnalysisSettings(), model) as analyzer:
    analyzer.analyze(np.zeros((240, 320, 3), dtype=np.uint8), 0)
print(json.dumps({"modules": modules, "torch": sorted(m for m in sys.modules if m.split(".")[0] == "torch")}))
"""


def test_nothing_on_the_detector_import_path_imports_torch() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _NO_TORCH], capture_output=True, text=True, timeout=240, check=False, env=os.environ
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"detector.runtime", "detector.analysis", "detector.model", "detector.cli"} <= set(report["modules"])
    assert report["torch"] == []


def _index_reachable() -> bool:
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "onnxruntime", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return probe.returncode == 0


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("install", ["extra", "device_list"])
def test_every_detector_dependency_resolves_for_aarch64_python_3_11(tmp_path: Path, install: str) -> None:
    """About 15 s for the extra with pip's cache warm (270 MB of wheels), 5 s for the device list: both stay in
    the default run, so an ARM install cannot break unseen."""
    if not _index_reachable():
        pytest.skip("the package index cannot be reached from here; the aarch64 resolution was not checked")
    platforms = [flag for platform in AARCH64_PLATFORMS for flag in ("--platform", platform)]
    wanted = (
        requirements_for("aarch64") if install == "extra" else ["--no-deps", *for_machine(device_list(), "aarch64")]
    )
    command = [
        sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet",
        "--only-binary=:all:", *platforms, "--python-version", "3.11", "--implementation", "cp",
        "--dest", str(tmp_path), *wanted,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=280, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    wheels = sorted(path.name for path in tmp_path.glob("*.whl"))
    assert any(name.startswith("mediapipe-0.10.18-cp311") and "aarch64" in name for name in wheels), wheels
    assert any(name.startswith("onnxruntime-") and "aarch64" in name for name in wheels), wheels
    assert not [name for name in wheels if name.startswith(("torch-", "torchvision-"))]
    assert all(name.endswith(("-any.whl", "aarch64.whl")) for name in wheels), wheels
