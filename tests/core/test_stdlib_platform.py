"""The standard library's `platform` must never be shadowed by our platform/ folder (DESIGN.md §2)."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_platform_folder_is_not_a_package() -> None:
    assert not (REPO / "platform" / "__init__.py").exists()


def test_platform_is_the_standard_library_in_pytest() -> None:
    assert platform.system() != ""
    assert "site-packages" not in (platform.__file__ or "")
    assert Path(platform.__file__ or "").parent == Path(sys.modules["os"].__file__ or "").parent


@pytest.mark.parametrize(
    "code",
    [
        "import platform; print(platform.system())",
        # A spawned child re-imports __main__'s world from the repo root: it must see the stdlib too.
        "import multiprocessing as mp, platform\n"
        "def f(_):\n    import platform; return platform.system()\n"
        "if __name__ == '__main__':\n"
        "    with mp.get_context('spawn').Pool(1) as pool: print(pool.map(f, [0])[0])",
    ],
    ids=["repo-root", "spawned-child"],
)
def test_platform_is_the_standard_library_from_repo_root(code: str, tmp_path: Path) -> None:
    script = tmp_path / "probe.py"
    script.write_text(code)
    result = subprocess.run(
        [sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == platform.system()


def test_python_c_import_platform_from_repo_root() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import platform; print(platform.system())"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == platform.system()


def test_our_platform_package_imports_under_its_own_name() -> None:
    import nitroplatform

    assert Path(nitroplatform.__file__ or "").parent == REPO / "platform" / "nitroplatform"
