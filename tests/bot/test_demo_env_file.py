"""The demo's config can be reused from another terminal (issue 12).

``sspm --config <the file the demo prints> check`` failed: the bind password and the secret key
live only in the demo's process. The demo now writes them beside the config (mode 0600) and
says how to load them.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from bot.demo import demo_stack, describe


def test_another_terminal_can_check_the_demo_stack_with_the_env_file(tmp_path: Path) -> None:
    with demo_stack(tmp_path) as stack:
        env_file = stack.env_path
        assert env_file.parent == stack.config_path.parent
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        assert f"set -a; . {env_file}; set +a" in describe(stack)
        # A fresh shell, with no SSPM_ variable of this process: only the file tells it.
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith(("SSPM_", "TWILIO_", "TELEGRAM_"))}
        done = subprocess.run(
            ["sh", "-c", f'set -a; . "{env_file}"; set +a; exec "$0" -m bot.cli check',
             sys.executable], capture_output=True, text=True, env=clean, timeout=120,
            cwd=Path(__file__).resolve().parents[2], check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAILED" not in done.stdout and done.stdout.count("ok ") >= 3
    assert stack.environment["SSPM_LDAP_BIND_PASSWORD"] not in done.stdout
