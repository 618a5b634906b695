"""The pages a reader follows: every relative link resolves, and every generated table is current."""
import glob
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ["README.md", "datasets/README.md",
         *sorted(glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def relative_links(page):
    with open(os.path.join(ROOT, page)) as file:
        text = file.read()
    for target in LINK.findall(text):
        if not re.match(r"[a-z]+:", target) and not target.startswith("#"):
            yield target.split("#")[0]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: os.path.relpath(os.path.join(ROOT, p), ROOT))
def test_every_relative_link_resolves(page):
    base = os.path.dirname(os.path.join(ROOT, page))
    missing = [target for target in relative_links(page) if not os.path.exists(os.path.join(base, target))]
    assert missing == []


def test_the_link_checker_sees_a_broken_link(tmp_path, monkeypatch):
    (tmp_path / "page.md").write_text("[ok](page.md) [web](https://example.org) [gone](nowhere.md#x) [here](#top)")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", str(tmp_path))
    assert list(relative_links("page.md")) == ["page.md", "nowhere.md"]


def test_generated_tables_are_current():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "docs_tables.py"), "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
