"""Every exp exports to ONNX and ONNX Runtime agrees with PyTorch."""
import glob
import os

import numpy as np
import pytest
import torch

from yolox_mods.common.onnx import onnx_session
from yolox_mods.exp_files import load_exp
from yolox_mods.export import export_onnx

EXP_DIR = os.path.join(os.path.dirname(__file__), "..", "exps")
# every exp, the grouped ones (exps/ablation, exps/activation) included
EXPS = sorted(glob.glob(os.path.join(EXP_DIR, "*.py"))) + sorted(glob.glob(os.path.join(EXP_DIR, "*", "*.py")))


@pytest.mark.parametrize("path", EXPS, ids=os.path.basename)
def test_onnx_matches_torch(path, tmp_path):
    model = load_exp(path).get_model().eval()
    onnx_path = str(tmp_path / "model.onnx")
    export_onnx(model, onnx_path, (96, 96))
    image = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        expected = model(image).numpy()
    got = onnx_session(onnx_path).run(None, {"images": image.numpy()})[0]
    assert got.shape == expected.shape == (1, 12 * 12 + 6 * 6 + 3 * 3, 25)
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)


def test_mixconv_is_merged_at_export_and_the_model_is_left_alone(tmp_path):
    import onnx

    model = load_exp(os.path.join(os.path.dirname(EXPS[0]), "mdconv_nano.py")).get_model().eval()
    op_types = {}
    for merge in (True, False):
        path = str(tmp_path / f"merge_{merge}.onnx")
        export_onnx(model, path, (64, 64), merge_mixconv=merge)
        op_types[merge] = [node.op_type for node in onnx.load(path).graph.node]
    assert "Split" not in op_types[True] and "BatchNormalization" not in op_types[True]
    assert op_types[False].count("Split") == 9  # one per MixConv in mdconv_nano
    assert any(type(m).__name__ == "MixConv" for m in model.modules())
