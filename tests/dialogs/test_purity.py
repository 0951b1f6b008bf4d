"""dialogs/ does no I/O: importing every module of it pulls in no network library nor Pillow."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import dialogs
from dialogs.engine import all_flows

FORBIDDEN = ("redis", "ldap3", "flask", "aiogram", "twilio", "PIL", "aiohttp", "requests")


def test_dialogs_imports_no_network_library_or_pillow() -> None:
    modules = [m.name for m in pkgutil.walk_packages(dialogs.__path__, "dialogs.")]
    assert "dialogs.engine" in modules and "dialogs.flows.enrol" in modules
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.strip() == "", f"dialogs pulled in: {result.stdout.strip()}"


def test_every_declared_transition_reaches_a_state() -> None:
    flows = all_flows()  # raises on a transition to an unknown state
    table = flows.table()
    for state in ("proof:username", "proof:verdict", "forgot:apply", "unlock:after_proof",
                  "change:current", "enrol:save", "menu:choose"):
        assert state in flows and state in table
