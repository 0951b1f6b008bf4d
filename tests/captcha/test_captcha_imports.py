"""The package, its store and its spoken module import without Pillow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_store_and_spoken_do_not_import_pillow() -> None:
    code = (
        "import sys; import captcha, captcha.store, captcha.spoken; "
        "assert 'PIL' not in sys.modules, 'PIL imported'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
