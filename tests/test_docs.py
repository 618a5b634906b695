"""The pages a reader follows: every relative link resolves, and every generated table is current."""
import glob
import json
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


def test_a_pruned_row_of_the_model_table_reads_the_pruning_study(tmp_path, monkeypatch):
    """A pruned published name takes params, GFLOPs and latency from the pruning study's run (not the exp's row in
    the variant table, which is another architecture), its loader setting from the study's records, and says so."""
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    try:
        import docs_tables
    finally:
        sys.path.pop(0)

    def write(path, value):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(json.dumps(value))

    machine = {"cpu": "Test CPU", "flags": ["avx2"], "cores": 2}
    write("weights/manifest.json", [
        {"file": "tiny_s0.pth", "exp": "tiny", "seed": 0, "epochs": 45, "test": {"mAP50": 10.0, "mAP50_95": 5.0}},
        {"file": "tiny_p35_s0.pth", "exp": "tiny", "seed": 0, "epochs": 35, "prior_epochs": 55, "pruned": True,
         "test": {"mAP50": 12.5, "mAP50_95": 6.0}}])
    for folder in ("results/quick/tiny_s0", "results/pruning/study/runs/tiny_p35_s0"):
        write(f"{folder}/test_eval.json", {"training": {"loader_workers": 0}})
    latency = {"latency_ratio": {"onnx@256": 1.0}, "latency_interval": {"onnx@256": [1.0, 1.0]}}
    write("results/variants.json", [{"exp": "tiny", "params_m": 0.9, "gflops": 1.08, **latency}])
    write("results/latency.json", {"machine": machine})
    write("results/pruning/study/variants.json", [
        {"exp": "tiny", "params_m": 0.9, "gflops": 1.08, **latency},
        {"exp": "tiny_p35", "params_m": 0.28, "gflops": 0.377,
         "latency_ratio": {"onnx@256": 0.7}, "latency_interval": {"onnx@256": [0.69, 0.73]}}])
    write("results/pruning/study/latency.json", {"machine": {**machine, "cpu": "Study CPU"}})
    (tmp_path / "exps").mkdir()
    (tmp_path / "exps" / "tiny.py").write_text('"""A tiny exp."""\n')
    monkeypatch.setattr(docs_tables, "ROOT", str(tmp_path))
    monkeypatch.setattr(docs_tables, "MODEL_ROWS", ["tiny", "tiny_p35"])
    monkeypatch.setattr(docs_tables, "PRUNED_ROWS", {"tiny_p35": "tiny pruned"})

    table = docs_tables.model_table()
    rows = [line for line in table.splitlines() if line.startswith("| `tiny")]
    assert rows[0].startswith("| `tiny` | A tiny exp | 0.900 | 1.080 | 45 | 10.00 (seed 0) |")
    assert rows[1].startswith("| `tiny_p35` (`-n tiny`) | tiny pruned | 0.280 | 0.377 | 55+35 | 12.50 (seed 0) | 6.00 "
                              "| 0.70x [0.69, 0.73] * | `tiny_p35_s0.pth` |")
    assert "CPU Test CPU (avx2)" in table and "Study CPU (avx2), 2 cores" in table
