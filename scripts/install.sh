#!/usr/bin/env bash
# One install for a fresh machine: torch first (yolox's build needs it), then yolox 0.3.0 without its pinned
# deps (onnxruntime==1.8.0 has no wheel for today's Python), then this package and its runtime/test deps.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q torch==2.14.1 torchvision==0.29.1
python -m pip install -q --no-deps --no-build-isolation yolox==0.3.0
python -m pip install -q -e ".[test]"
