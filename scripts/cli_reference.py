"""Write docs/cli.md: every flag of every tool, read from the tools' own parsers, with what each does or why it is
refused. ``python scripts/cli_reference.py > docs/cli.md``; tests/test_cli_reference.py checks the file is current."""
import argparse
import importlib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# (how it is run, module with make_parser() and, for YOLOX's own flags it cannot honour, REFUSED)
TOOLS = [
    ("tools/train.py", "yolox_mods.cli.train"),
    ("tools/eval.py", "yolox_mods.cli.eval"),
    ("tools/export_onnx.py", "yolox_mods.cli.export_onnx"),
    ("tools/quantize_onnx.py", "yolox_mods.cli.quantize_onnx"),
    ("tools/demo.py", "yolox_mods.cli.demo"),
    ("tools/benchmark.py", "yolox_mods.cli.benchmark"),
    ("tools/check_data.py", "yolox_mods.cli.check_data"),
    ("tools/plot_curves.py", "yolox_mods.cli.plot_curves"),
    ("tools/publish_weights.py", "yolox_mods.cli.publish_weights"),
    ("tools/quickstart.py", "yolox_mods.cli.quickstart"),
    ("tools/prune.py", "yolox_mods.cli.prune"),
    ("python -m classification.compress", "classification.cli.compress"),
    ("python -m classification.evaluate", "classification.cli.evaluate"),
    ("python -m classification.deploy", "classification.cli.deploy"),
    ("python -m classification.seeds", "classification.cli.seeds"),
    ("python -m classification.block_study", "classification.cli.block_study"),
]


def cell(text) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def flag_rows(parser: argparse.ArgumentParser, refused: dict):
    formatter = parser._get_formatter()
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        flags = ", ".join(f"`{flag}`" for flag in action.option_strings) or f"`{action.dest}` (positional)"
        # defaults inside the checkout (recipes, exps) are shown relative to it, so the file does not depend on
        # where the repository lives
        default = "" if action.default in (None, argparse.SUPPRESS) or action.option_strings == [] else \
            f"`{str(action.default).replace(ROOT + os.sep, '')}`"
        if action.choices:
            default += f" (one of {', '.join(map(str, action.choices))})"
        status = "yes"
        if action.dest in refused:
            allowed, reason = refused[action.dest]
            status = f"refused: {reason}" if allowed in (False, None) else f"only `{allowed}`; refused: {reason}"
        help_text = formatter._expand_help(action) if action.help else ""
        yield f"| {flags} | {cell(default)} | {cell(status)} | {cell(help_text)} |"


def reference() -> str:
    lines = ["# Command-line reference", "",
             "Every flag of every tool, generated from the parsers by `python scripts/cli_reference.py > docs/cli.md`",
             "(`tests/test_cli_reference.py` fails when this file is stale). A refused flag ends the tool with one",
             "`error:` line before anything runs; trailing `key value` pairs of train/eval/export/demo/quantize",
             "override exp attributes.", "",
             "One way to call each tool: the detector's as `python tools/<name>.py` from a checkout (YOLOX's",
             "convention; `python -m yolox_mods.cli.<name>` is the same main), the classifier's as",
             "`python -m classification.<name>`. The `yolox-lite-*` console scripts of 0.1.0 are removed: call",
             "those instead."]
    for name, module_name in TOOLS:
        module = importlib.import_module(module_name)
        parser = module.make_parser()
        commands = next((action for action in parser._actions if isinstance(action, argparse._SubParsersAction)),
                        None)
        # a tool with subcommands gets a section per subcommand
        sections = ([(f"{name} {command}", sub) for command, sub in commands.choices.items()] if commands
                    else [(name, parser)])
        for title, section in sections:
            lines += ["", f"## `{title}`", "", cell(section.description or ""), "",
                      "| flag | default | supported | what it does |", "|---|---|---|---|"]
            lines += list(flag_rows(section, getattr(module, "REFUSED", {})))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(reference())
