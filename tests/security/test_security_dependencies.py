"""The dependency floors past known advisories, and the hashed lock files the image and CI install from.

A lock that drifts from ``pyproject.toml`` (a dependency added without re-locking, a pin below a declared minimum)
or a pin without hashes fails here, before an image or a CI run installs something nobody reviewed.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
LOCKS = {"platform": REPO / "requirements" / "platform.lock", "all": REPO / "requirements" / "ci.lock"}
# The machine a lock is compiled for (requirements/README.md): ci.lock for Linux x86-64 and Python 3.11, so a
# requirement whose marker names another machine (mediapipe 0.10.18 on aarch64) is not in it. platform.lock is
# universal: every requirement is in it.
LOCK_MACHINES: dict[str, dict[str, str] | None] = {
    "platform": None,
    "all": {
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "python_version": "3.11",
    },
}

# Minimum versions past the advisories docs/SECURITY.md lists (package, first fixed version).
ADVISORY_FLOORS = {
    "starlette": "0.49.1",
    "h11": "0.16.0",
    "python-multipart": "0.0.22",
    "jinja2": "3.1.6",
    "requests": "2.32.4",
}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


def _pins(lock: Path) -> dict[str, tuple[Version, int]]:
    """Package -> (pinned version, number of hashes) from a ``uv pip compile --generate-hashes`` file."""
    pins: dict[str, tuple[Version, int]] = {}
    current = None
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            pins[current] = (Version(match.group(3)), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def _requirements(extra: str) -> list[Requirement]:
    """The project's own requirements with ``extra`` (extras that name the project are followed)."""
    project = PYPROJECT["project"]
    pending, seen, found = [extra], set(), [Requirement(text) for text in project["dependencies"]]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for text in project["optional-dependencies"][name]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == "nitrosignal":
                pending.extend(requirement.extras)
            else:
                found.append(requirement)
    return found


@pytest.mark.parametrize("extra", sorted(LOCKS))
def test_the_lock_pins_every_requirement_within_its_range_with_hashes(extra: str) -> None:
    pins = _pins(LOCKS[extra])
    assert len(pins) > 30
    problems = [f"{name}=={version} has no hash" for name, (version, hashes) in pins.items() if hashes == 0]
    machine = LOCK_MACHINES[extra]
    for requirement in _requirements(extra):
        if machine is not None and requirement.marker is not None and not requirement.marker.evaluate(machine):
            continue
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement} is not in {LOCKS[extra].name}")
        elif not requirement.specifier.contains(pins[name][0], prereleases=True):
            problems.append(f"{requirement} is pinned at {pins[name][0]} in {LOCKS[extra].name}")
    assert not problems, "re-lock (requirements/README.md):\n" + "\n".join(problems)


@pytest.mark.parametrize(("package", "floor"), sorted(ADVISORY_FLOORS.items()))
def test_advisory_floors_are_declared_locked_and_installed(package: str, floor: str) -> None:
    declared = [r for r in _requirements("platform") if canonicalize_name(r.name) == package]
    assert declared, f"pyproject.toml does not declare {package} (it needs a floor)"
    below = _below(floor)
    assert all(not r.specifier.contains(below, prereleases=True) for r in declared), (
        f"pyproject.toml lets {package} be {below}, below {floor}"
    )
    for lock in LOCKS.values():
        assert _pins(lock)[package][0] >= Version(floor), f"{lock.name} pins {package} below {floor}"
    assert Version(metadata.version(package)) >= Version(floor), f"the installed {package} is below {floor}"


def _below(floor: str) -> str:
    """A version just below ``floor``: its last number minus one, or a pre-release of it when that is 0."""
    head, _, last = floor.rpartition(".")
    return f"{floor}rc1" if last == "0" else f"{head}.{int(last) - 1}"
