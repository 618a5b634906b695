"""docs/cli.md lists every flag of every tool as the parsers define them today."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_cli_reference_is_current():
    generated = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "cli_reference.py")], cwd=ROOT,
                               capture_output=True, text=True, timeout=300)
    assert generated.returncode == 0, generated.stderr[-2000:]
    with open(os.path.join(ROOT, "docs", "cli.md")) as file:
        committed = file.read()
    assert generated.stdout == committed, "docs/cli.md is stale: python scripts/cli_reference.py > docs/cli.md"
    # every tool of tools/ and every classification CLI has its section
    for tool in sorted(os.listdir(os.path.join(ROOT, "tools"))):
        assert f"## `tools/{tool}" in committed, tool
    for command in ("latency", "report", "profile", "train-speed", "train-profile"):
        assert f"## `tools/benchmark.py {command}`" in committed
    for module in ("compress", "evaluate", "block_study"):
        assert f"## `python -m classification.{module}`" in committed
