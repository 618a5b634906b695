#!/usr/bin/env bash
# The package as a user gets it, not as an editable checkout: a fresh venv that reuses this Python's torch and
# yolox (--system-site-packages, so nothing is downloaded again), yolox-lite installed from this checkout without
# its deps, then one smoke command per half. Run by tests/test_install.py.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python -m venv --system-site-packages "$work/venv"
py="$work/venv/bin/python"
# the wheel is built with this Python's setuptools (the venv's own has no bdist_wheel) from a copy of the sources,
# so that no build/ folder left in the checkout can add stale modules, then installed as users do
mkdir "$work/src"
tar -C "$root" --exclude=./build --exclude='*.egg-info' --exclude=./.git --exclude=./results --exclude=./weights \
    --exclude=./docs -cf - . | tar -C "$work/src" -xf -
python -m pip wheel -q --no-deps --no-build-isolation -w "$work/dist" "$work/src"
"$py" -m pip install -q --no-deps "$work"/dist/yolox_lite-*.whl
cd "$work"
# the installed copy is the one imported, and its recipes are package data
"$py" - <<'PY'
import os, sys
import classification, yolox_mods
from classification.recipe import load_recipe
for module in (classification, yolox_mods):
    assert os.path.realpath(module.__file__).startswith(os.path.realpath(sys.prefix)), module.__file__
load_recipe("smoke")
print("installed:", os.path.dirname(yolox_mods.__file__))
PY
"$py" -m classification.compress --list > /dev/null
# the detector from the checkout, as YOLOX users run it: tools/ and exps/ there, the library from the venv
cd "$root"
"$py" tools/export_onnx.py -f exps/yolox_voc_nano.py --random-weights --tsize 128 --output-name "$work/nano.onnx"
test -s "$work/nano.onnx"
echo "non-editable install: smoke commands passed"
