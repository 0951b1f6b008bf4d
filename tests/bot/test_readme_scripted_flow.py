"""The README's way to script a flow works (issue 12: its `printf` line could not).

The Python snippet under "Scripting a flow" is run as README.md says: from another process,
with the demo's env file loaded, against a demo stack with the demo enrolments.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.demo import demo_stack
from bot.local_stack import demo_user
from bot.local_stack.enrolments import seed_enrolments
from bot.services import build_application
from tests.directory.test_openldap import binds

ROOT = Path(__file__).resolve().parents[2]


def readme_snippet() -> str:
    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("<!-- scripted-flow -->"):]
    block = block[block.index("```python\n") + len("```python\n"):]
    return block[:block.index("```")]


def test_the_readme_script_resets_alice_on_the_demo_stack(tmp_path: Path) -> None:
    assert "printf '1\\nalice" not in (ROOT / "README.md").read_text()  # the untrue claim
    script = tmp_path / "reset.py"
    script.write_text(readme_snippet())
    with demo_stack(tmp_path / "demo") as stack:
        app = build_application(stack.settings())
        try:
            seed_enrolments(app.directories["DEFAULT"], app.services.hasher)
        finally:
            app.close()
        done = subprocess.run(
            ["sh", "-c", f'set -a; . "{stack.env_path}"; set +a; exec "$0" "{script}"',
             sys.executable], capture_output=True, text=True, cwd=ROOT, timeout=180,
            check=False)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert "your password has been changed" in done.stdout
        assert binds(stack.slapd, demo_user("alice").dn, "Granite-Orchard-Violin-58")
