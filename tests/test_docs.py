"""The pages a reader follows: every relative link resolves, and every generated table is current."""
import glob
import os
import re
import shlex
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


COMMAND = re.compile(r"python (tools/\w+\.py|-m classification\.\w+)((?:[^\n`\\]|\\\n)*)")


def documented_commands(page):
    """The CLI module and arguments of every ``python tools/NAME.py ...`` and ``python -m classification.NAME ...``
    in ``page``'s text (shell continuations joined, comments dropped)."""
    with open(os.path.join(ROOT, page)) as file:
        text = file.read()
    for tool, arguments in COMMAND.findall(text):
        arguments = arguments.replace("\\\n", " ").split("&&")[0].split(";")[0].split("|")[0].split(">")[0]
        module = (f"yolox_mods.cli.{tool[6:-3]}" if tool.startswith("tools/")
                  else f"classification.cli.{tool.split('.')[1]}")
        # a shell variable or the placeholder N stands for a number
        yield module, [re.sub(r"^(\$\w+|N)$", "1", word) for word in shlex.split(arguments, comments=True)]


@pytest.mark.parametrize("page", [p for p in PAGES if "history" not in p and not p.endswith("cli.md")],
                         ids=lambda p: os.path.relpath(os.path.join(ROOT, p), ROOT))
def test_every_documented_tool_command_parses(page):
    """A command a reader copies from the README or the manual is accepted by its tool's parser (run, it would
    need data and time; parsed, it shows every flag exists and every required one is given)."""
    import importlib

    refused = []
    for module, arguments in documented_commands(page):
        try:
            importlib.import_module(module).make_parser().parse_args(arguments)
        except SystemExit:
            refused.append(f"{module} {' '.join(arguments)}")
    assert refused == []
