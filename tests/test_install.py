"""The package as a user installs it: not editable, in a fresh venv (scripts/check_installed.sh)."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_a_non_editable_install_runs_both_halves():
    result = subprocess.run(["bash", os.path.join(ROOT, "scripts", "check_installed.sh")], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    installed = next(line for line in result.stdout.splitlines() if line.startswith("installed: "))
    assert not installed.startswith(f"installed: {ROOT}")  # the venv's copy, not this checkout
    assert result.stdout.strip().endswith("non-editable install: smoke commands passed")
