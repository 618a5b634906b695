"""The classifier as deployed: ONNX Runtime FP32 predicts what PyTorch predicts; INT8 tracks it."""
import json
import os

import pytest
import torch

from classification.cli.deploy import main
from classification.data import load_data, make_synthetic_folder
from classification.models import ShuffleNetV1, save_model
from classification.train import TrainConfig, evaluate, fit


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("deploy"))
    data = make_synthetic_folder(os.path.join(root, "data"), classes=3, train_per_class=16, val_per_class=4,
                                 test_per_class=8, size=48)
    train, _, test = load_data(data)
    torch.manual_seed(0)
    model = fit(ShuffleNetV1(3, stage_repeats=[1, 1, 1]), train, 48,
                TrainConfig(epochs=3, batch_size=8, lr=0.05, num_workers=0))
    ckpt = os.path.join(root, "run", "model.pth")
    os.makedirs(os.path.dirname(ckpt))
    save_model(ckpt, model, 48, train.classes, "model")
    return data, ckpt, evaluate(model, test, 48)


def test_fp32_onnx_scores_as_pytorch_and_int8_tracks_it(trained, capsys):
    data, ckpt, torch_scores = trained
    main(["--ckpt", ckpt, "--data", data, "--calib", "12", "--runs", "5"])
    rows = json.load(open(os.path.join(os.path.dirname(ckpt), "deploy.json")))
    fp32, int8 = rows
    assert (fp32["precision"], int8["precision"], fp32["split"], fp32["images"]) == ("FP32", "INT8", "test", 24)
    # an independent path (ONNX Runtime on exported weights) gives PyTorch's predictions
    assert fp32["f1"] == pytest.approx(torch_scores["f1"], abs=1e-9)
    assert fp32["accuracy"] == pytest.approx(torch_scores["accuracy"], abs=1e-9)
    assert abs(int8["f1"] - fp32["f1"]) <= 0.2 and int8["int8"]["calibration_images"] == 12
    assert os.path.exists(ckpt.replace(".pth", "_int8.onnx"))
    assert "| INT8 " in capsys.readouterr().out


def test_classes_that_differ_are_one_error_line(trained, tmp_path, capfd):
    data, ckpt, _ = trained
    other = make_synthetic_folder(str(tmp_path / "other"), classes=2, train_per_class=2, val_per_class=1,
                                  test_per_class=1, size=32)
    with pytest.raises(SystemExit):
        main(["--ckpt", ckpt, "--data", other, "--output", str(tmp_path / "o")])
    error = capfd.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"error: {ckpt}: trained on classes")
