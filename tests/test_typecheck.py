"""The type checker runs clean on server/ and providers/."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ["server", "providers"]


def test_mypy_is_clean():
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent)) or shutil.which("mypy")
    assert mypy, "mypy is part of the test extra: pip install -e '.[test]'"
    out = subprocess.run([mypy, "--no-incremental", *CHECKED], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
