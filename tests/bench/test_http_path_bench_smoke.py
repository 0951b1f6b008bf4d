"""The HTTP-path bench (issue 13) still plays a whole SMS reset on the product as it is now.

One reset through gunicorn, signed webhooks, the MMS picture, the code from the Twilio stand-in
and the password page; no figure is checked (no timing asserts), only that the run completes and
prints its tables, so the bench does not rot as the product changes.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_bench_plays_one_whole_reset_through_gunicorn() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "http_path_bench.py"), "--workers", "1",
         "--warmup", "0", "--resets", "1", "--breakdown", "1", "--throughput-seconds", "0",
         "--argon2-samples", "1", "--idle-timeout", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "## Cost per completed reset (1 serial resets" in done.stdout, done.stdout
    # Every request of the reset answered 200 (the bench stops at the first unexpected reply).
    assert re.search(r"\| HTTP statuses \| \{200: \d+\} \|", done.stdout), done.stdout
    assert "| **whole reset** |" in done.stdout, done.stdout
    assert "Twilio stand-in received" in done.stdout
