"""Every exp exports to ONNX and ONNX Runtime agrees with PyTorch."""
import glob
import os

import numpy as np
import pytest
import torch

from yolox_mods.cli.common import load_exp
from yolox_mods.export import export_onnx, onnx_session

EXPS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "exps", "*.py")))


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
