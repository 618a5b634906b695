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


# the dated log and the history keep commands as they were run; cli.md is generated from the parsers
@pytest.mark.parametrize("page", [p for p in PAGES if "history" not in p
                                  and not p.endswith(("docs/results.md", "cli.md"))],
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


FIGURE = re.compile(r"(?<![\d.])[+-]?\d+\.\d+(?![\d.])")


def prose_figures(text):
    """The decimal figures of ``text`` outside generated tables, code and inline code (versions such as 2.14.1 are
    not figures)."""
    text = re.sub(r"<!-- table:(\w+) -->.*?<!-- /table:\1 -->", "", text, flags=re.S)
    text = re.sub(r"```.*?```|`[^`]*`", "", text, flags=re.S)
    return sorted(set(FIGURE.findall(text)))


def test_every_figure_in_the_readme_prose_is_in_a_generated_table():
    """A figure the README states in a sentence is one a generated table shows (from the artefacts), so it cannot
    drift from them unnoticed."""
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    try:
        import docs_tables
    finally:
        sys.path.pop(0)
    generated = "\n".join(table() for table in docs_tables.TABLES.values())
    with open(os.path.join(ROOT, "README.md")) as file:
        figures = prose_figures(file.read())
    assert figures  # the README states some
    missing = [figure for figure in figures
               if not re.search(r"(?<![\d.])" + re.escape(figure.lstrip("+-")) + r"(?![\d])", generated)]
    assert missing == []


def test_the_prose_check_sees_a_figure_that_no_table_has():
    text = "Gains +3.15 mAP (range 7.70-10.80), torch 2.14.1 `9.99` <!-- table:x -->\n8.88\n<!-- /table:x -->"
    assert prose_figures(text) == ["+3.15", "10.80", "7.70"]
