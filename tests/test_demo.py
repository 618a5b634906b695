"""The demo draws what the model detects where it detects it; exported models run through the same pre- and
post-processing as the PyTorch model."""
import os

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn

from yolox_mods.cli import demo as demo_cli
from yolox_mods.common import atomic_save
from yolox_mods.demo import Predictor, draw
from yolox_mods.exp_files import load_exp
from yolox_mods.export import export_onnx
from yolox_mods.runtime import OnnxDetector, OpenVINODetector

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASSES = ("cat", "dog", "car")


class OneBox(nn.Module):
    """A 'model' that always detects one dog at a known box (centre x, y, width, height in input pixels)."""

    def __init__(self, cxcywh):
        super().__init__()
        self.cxcywh = torch.tensor(cxcywh, dtype=torch.float32)
        self.anchor = nn.Parameter(torch.zeros(1))

    def forward(self, images):
        # a second, empty anchor: YOLOX's postprocess squeezes a single anchor away
        out = torch.zeros(images.shape[0], 2, 5 + len(CLASSES))
        out[:, 0, :4], out[:, 0, 4], out[:, 0, 6] = self.cxcywh, 0.9, 0.8
        return out


def test_the_box_is_drawn_where_the_model_detects_it():
    image = np.full((200, 400, 3), 90, np.uint8)  # letterboxed into 160x160 with ratio 0.4
    predictor = Predictor(OneBox((60.0, 40.0, 40.0, 20.0)), CLASSES, (160, 160), conf=0.3)
    detections, _ = predictor(image)
    assert len(detections) == 1 and detections[0].name == "dog" and detections[0].score == pytest.approx(0.72)
    x1, y1, x2, y2 = detections[0].box
    assert (x1, y1, x2, y2) == pytest.approx((100.0, 75.0, 200.0, 125.0))  # (40..80, 30..50) / 0.4
    drawn = draw(image, detections, CLASSES)
    changed = np.any(drawn != image, axis=2)
    assert changed[100, int(x1)] and changed[100, int(x2)] and changed[int(y2), 150]  # the box's edges
    assert not changed[100, 150] and not changed[180, 350] and not changed[10, 10]  # inside and far outside


@pytest.mark.parametrize("detector", [OnnxDetector, OpenVINODetector])
def test_exported_detector_matches_the_torch_model(tmp_path, detector):
    torch.manual_seed(0)
    model = load_exp(os.path.join(ROOT, "exps", "mdconv_nano.py")).get_model().eval()
    images = torch.rand(3, 3, 96, 96) * 255
    for decode in (False, True):
        path = str(tmp_path / f"m{decode}.onnx")
        export_onnx(model, path, (96, 96), decode=decode)
        model.head.decode_in_inference = True
        with torch.no_grad():
            expected = model(images)
        got = detector(path)(images)
        assert torch.allclose(got, expected, rtol=1e-3, atol=1e-3), decode
    with pytest.raises(ValueError, match="exported for 96x96 input, got 64x64"):
        detector(path)(torch.zeros(1, 3, 64, 64))
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ValueError, match=f"{tmp_path / 'junk.onnx'}: not a"):
        detector(str(tmp_path / "junk.onnx"))


def test_demo_cli_on_a_folder(tmp_path, capfd):
    exp = load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano.py"))
    ckpt = str(tmp_path / "random.pth")
    atomic_save({"model": exp.get_model().state_dict()}, ckpt)
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.jpg"), np.random.default_rng(0).integers(0, 255, (120, 180, 3), dtype=np.uint8))
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    demo_cli.main(["image", "-n", "yolox_voc_nano", "-c", ckpt, "--path", str(folder), "--conf", "0.05",
                   "--tsize", "128", "--save_result", "output_dir", str(tmp_path / "out")])
    captured = capfd.readouterr()
    assert f"{folder / 'a.jpg'}: " in captured.out and " detections (" in captured.out
    assert f"warning: {folder / 'broken.jpg'}: unreadable or corrupt image" in captured.err
    saved = [os.path.join(d, f) for d, _, files in os.walk(tmp_path / "out") for f in files]
    assert len(saved) == 1 and cv2.imread(saved[0]).shape == (120, 180, 3)
    with pytest.raises(SystemExit):
        demo_cli.main(["image", "-n", "yolox_voc_nano", "-c", ckpt, "--path", str(tmp_path / "nowhere.jpg")])
    assert capfd.readouterr().err.strip().endswith(f"error: {tmp_path / 'nowhere.jpg'}: no such file or folder")
    with pytest.raises(SystemExit):
        demo_cli.main(["image", "-n", "yolox_voc_nano", "-c", ckpt, "--openvino", "m.xml", "--path", str(folder)])
    assert capfd.readouterr().err.strip().endswith("error: give one of -c, --onnx and --openvino")
