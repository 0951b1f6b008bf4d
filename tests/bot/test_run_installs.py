"""``./run`` installs without recommendations and waits for the apt lock (issue 12).

apt-get and dpkg-query are stand-ins on PATH that record their arguments; the script runs in
a copy of the repository's shape (its own pyproject and an up-to-date venv stamp), so nothing
is installed and nothing outside the temporary folder is touched.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def fake(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


@pytest.mark.skipif(os.geteuid() != 0, reason="./run installs Debian packages only as root")
def test_setup_installs_without_recommends_and_waits_for_the_lock(tmp_path: Path) -> None:
    repo, bin_dir, log = tmp_path / "repo", tmp_path / "bin", tmp_path / "apt.log"
    repo.mkdir()
    bin_dir.mkdir()
    shutil.copy(ROOT / "run", repo / "run")
    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    venv = repo / ".venv"
    (venv / "bin").mkdir(parents=True)
    fake(venv / "bin", "python", "exit 0\n")
    digest = hashlib.sha256((repo / "pyproject.toml").read_bytes()).hexdigest()
    (venv / ".installed").write_text(digest + "\n")
    fake(bin_dir, "dpkg-query", "exit 1\n")  # nothing is installed
    fake(bin_dir, "apt-get", f'echo "$@" >> "{log}"\n')
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "SSPM_POLICY_RC": str(tmp_path / "policy-rc.d")}
    done = subprocess.run([str(repo / "run"), "setup"], capture_output=True, text=True,
                          env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    install = [c for c in calls if " install " in f" {c} "]
    assert install and all("--no-install-recommends" in c for c in install), calls
    assert all("DPkg::Lock::Timeout=" in c for c in calls), calls
    assert not (tmp_path / "policy-rc.d").exists()  # its own policy file is removed again


def test_the_test_packages_name_what_samba_only_recommends() -> None:
    # Without recommendations, `samba-tool domain provision` needs this one named.
    text = (ROOT / "run").read_text()
    assert "samba-ad-provision" in text.split("TEST_APT_PACKAGES=(")[1].split(")")[0]
