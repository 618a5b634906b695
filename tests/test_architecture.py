"""The layering in docs/architecture.md: the classifier uses only the shared layers, which use nothing else."""
import ast
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = ("yolox_mods.blocks", "yolox_mods.common")


def project_imports(path: pathlib.Path, package: str = None):
    """Absolute names of the project modules that ``path`` imports (relative imports resolved)."""
    package = package or ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                names += [module] if node.module else [f"{module}.{alias.name}" for alias in node.names]
            else:
                names.append(node.module)
    return [name for name in names if name.split(".")[0] in ("yolox_mods", "classification", "yolox")]


def within(name, allowed):
    return any(name == a or name.startswith(a + ".") for a in allowed)


CLASSIFIER = sorted((ROOT / "classification").rglob("*.py"))
# `python -m classification.<name>` as users call it: each of these modules only calls its CLI's main
ENTRY_POINTS = ("compress", "evaluate", "deploy", "seeds", "block_study")


def package_of(path: pathlib.Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])


@pytest.mark.parametrize("path", CLASSIFIER, ids=lambda p: str(p.relative_to(ROOT / "classification")))
def test_classification_uses_only_blocks_and_common(path):
    outside = [n for n in project_imports(path, package_of(path)) if not within(n, ("classification", *SHARED))]
    assert outside == []


@pytest.mark.parametrize("path", [p for p in CLASSIFIER if p.parent.name != "cli" and p.stem not in ENTRY_POINTS],
                         ids=lambda p: str(p.relative_to(ROOT / "classification")))
def test_no_classifier_library_module_imports_a_cli(path):
    assert [n for n in project_imports(path, package_of(path)) if within(n, ("classification.cli",))] == []
    assert not re.search(r"\bprint\(", path.read_text())  # library code logs; a CLI's main prints


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_an_entry_point_module_only_calls_its_cli(name):
    path = ROOT / "classification" / f"{name}.py"
    assert project_imports(path, "classification") == [f"classification.cli.{name}"]
    code = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith('"""')]
    assert code == [f"from .cli.{name} import main", 'if __name__ == "__main__":', "    main()"]


@pytest.mark.parametrize("path", sorted([*(ROOT / "yolox_mods" / "blocks").glob("*.py"),
                                         *(ROOT / "yolox_mods" / "common").glob("*.py")]),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shared_layers_import_nothing_else_of_the_project(path):
    layer = "yolox_mods." + path.parent.name
    allowed = (layer, "yolox_mods.common") if layer == "yolox_mods.blocks" else (layer,)
    outside = [n for n in project_imports(path) if not within(n, allowed)]
    assert outside == []


def test_importing_the_classifier_does_not_load_yolox():
    code = ("import sys, classification.compress, classification.evaluate, classification.block_study; "
            "print(sorted(m for m in sys.modules if m == 'yolox' or m.startswith('yolox.')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_checker_resolves_what_the_rules_depend_on(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import os\nfrom yolox_mods.core import launch\nfrom ..data import voc\nfrom . import io\n"
                     "from .errors import DataError\nimport yolox.models\n")
    assert project_imports(probe, "yolox_mods.common") == [
        "yolox_mods.core", "yolox_mods.data", "yolox_mods.common.io", "yolox_mods.common.errors", "yolox.models"]
