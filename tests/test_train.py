"""End-to-end training through tools/train.py and tools/eval.py on generated data (CPU)."""
import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from tests.faults import poisoned_exp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN, EVAL = os.path.join(ROOT, "tools", "train.py"), os.path.join(ROOT, "tools", "eval.py")

pytestmark = pytest.mark.slow


def small_run(voc, out, *extra):
    return ["data_dir", voc, "output_dir", str(out), "input_size", "(128,128)", "test_size", "(128,128)",
            "random_size", "(3,5)", "warmup_epochs", "1", "no_aug_epochs", "1", "eval_interval", "1",
            "data_num_workers", "0", "print_interval", "1", *extra]


def run(args, timeout=600):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_train_eval_checkpoints_and_tensorboard(synthetic_voc, tmp_path):
    result = run([TRAIN, "-n", "final_nano", "-b", "8", "--device", "cpu",
                  *small_run(synthetic_voc, tmp_path, "max_epoch", "2", "val_sets", "(('2007','val'),)")])
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "final_nano"
    assert {"latest_ckpt.pth", "best_ckpt.pth", "last_epoch_ckpt.pth", "test_eval.json",
            "test_eval.matches.npz"} <= set(os.listdir(out))
    assert glob.glob(str(out / "tensorboard" / "events.out.tfevents.*"))
    assert "img/s" in result.stderr and "mAP50:" in result.stderr
    checkpoint = torch.load(out / "latest_ckpt.pth", weights_only=False)
    assert checkpoint["start_epoch"] == 2 and checkpoint["start_iter"] == 0 and checkpoint["ema"] is not None
    headline = json.loads((out / "test_eval.json").read_text())
    assert (headline["split"], headline["images"], headline["epoch"], headline["act"]) == ("test", 8, 2, "silu")
    assert checkpoint["act"] == "silu"

    common = ["-f", "exps/final_nano.py", "-b", "8", "--device", "cpu", "data_dir", synthetic_voc,
              "output_dir", str(tmp_path), "test_size", "(128,128)", "data_num_workers", "0"]
    # no -c: the run's last-epoch EMA weights, scored on test as the trainer scored them
    evaluated = run([EVAL, *common[:6], "--json", str(tmp_path / "eval.json"), *common[6:]])
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert "mAP50:" in evaluated.stdout and "Params: 0.87M" in evaluated.stdout
    assert f"checkpoint {out / 'latest_ckpt.pth'} at 128x128, test split (8 images)" in evaluated.stdout
    again = json.loads((tmp_path / "eval.json").read_text())
    assert again["mAP50"] == pytest.approx(headline["mAP50"], abs=1e-9) and again["per_class_AP50"]
    # the benchmark's one-schedule and one-setting guards read them from either
    assert again["epoch"] == headline["epoch"] == 2 and again["training"] == headline["training"]
    # the exported model, evaluated through the same loader, evaluator and NMS
    onnx = str(tmp_path / "final.onnx")
    exported = run([os.path.join(ROOT, "tools", "export_onnx.py"), "-f", "exps/final_nano.py", "-c",
                    str(out / "latest_ckpt.pth"), "--tsize", "128", "--output-name", onnx])
    assert exported.returncode == 0, exported.stderr[-3000:]
    from_onnx = run([EVAL, *common[:6], "--onnx", onnx, "--json", str(tmp_path / "onnx.json"), *common[6:]])
    assert from_onnx.returncode == 0, from_onnx.stderr[-3000:]
    assert json.loads((tmp_path / "onnx.json").read_text())["mAP50"] == pytest.approx(again["mAP50"], abs=0.1)
    from_openvino = run([EVAL, *common[:6], "--openvino", onnx, "--json", str(tmp_path / "ov.json"), *common[6:]])
    assert from_openvino.returncode == 0, from_openvino.stderr[-3000:]
    assert f"OpenVINO model {onnx}" in from_openvino.stdout
    assert json.loads((tmp_path / "ov.json").read_text())["mAP50"] == pytest.approx(again["mAP50"], abs=0.1)
    # one set of weights, one digest, from the trainer, the checkpoint and both exported models: what the
    # benchmark pairs an exported model's score with
    digests = {json.loads((tmp_path / name).read_text())["weights"] for name in ("eval.json", "onnx.json", "ov.json")}
    assert digests == {headline["weights"]} and len(headline["weights"]) == 16
    # INT8 in both runtimes, quantized by tools/quantize_onnx.py and scored end to end by tools/eval.py
    quantize = os.path.join(ROOT, "tools", "quantize_onnx.py")
    for runtime, tool, int8 in (("onnx", "onnxruntime", str(tmp_path / "int8.onnx")),
                               ("openvino", "openvino", str(tmp_path / "ov" / "int8.xml"))):
        made = run([quantize, "-f", "exps/final_nano.py", "--onnx", onnx, "--output", int8, "--runtime", tool,
                    "--calib", "8", "data_dir", synthetic_voc])
        assert made.returncode == 0, made.stderr[-3000:]
        scored = run([EVAL, *common[:6], f"--{runtime}", int8, "--json", str(tmp_path / f"{runtime}_int8.json"),
                      *common[6:]])
        assert scored.returncode == 0, scored.stderr[-3000:]
        record = json.loads((tmp_path / f"{runtime}_int8.json").read_text())
        assert (record["runtime"], record["weights"], record["images"]) == (f"{runtime}-int8", headline["weights"], 8)
        assert 0 <= record["mAP50"] <= 100
    # OpenVINO's bf16, the CPU plugin's default where the CPU has it: its own runtime name, or refused
    bf16 = run([EVAL, *common[:6], "--openvino", onnx, "--precision", "bf16", "--json", str(tmp_path / "bf16.json"),
                *common[6:]])
    from yolox_mods.runtime import cpu_has_bf16

    if cpu_has_bf16():
        assert bf16.returncode == 0, bf16.stderr[-3000:]
        assert json.loads((tmp_path / "bf16.json").read_text())["runtime"] == "openvino-bf16"
    else:
        assert bf16.returncode == 2 and "OpenVINO bf16 needs a CPU with avx512_bf16 or amx_bf16" in bf16.stderr
    on_val = run([EVAL, *common[:6], "--split", "val", *common[6:], "val_sets", "(('2007','val'),)"])
    assert on_val.returncode == 0 and "val split (8 images)" in on_val.stdout, on_val.stderr[-3000:]

    wrong = run([EVAL, "-f", "exps/yolox_voc_nano.py", "-c", str(out / "best_ckpt.pth"), "--device", "cpu",
                 "data_dir", synthetic_voc, "data_num_workers", "0"])
    assert wrong.returncode == 2
    last = wrong.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {out / 'best_ckpt.pth'}: checkpoint does not fit this model")
    # the same weights under another activation would load silently: the recorded act refuses it
    other_act = run([EVAL, *common[:6], *common[6:], "act", "relu"])
    assert other_act.returncode == 2
    assert other_act.stderr.strip().splitlines()[-1] == (
        f"error: {out / 'latest_ckpt.pth'}: trained with act 'silu', but final_nano builds 'relu'; add 'act silu' to "
        f"the command or use an exp with that activation")


def test_resume_after_sigkill_mid_epoch(synthetic_voc, tmp_path):
    flags = [TRAIN, "-f", "exps/yolox_voc_nano.py", "-b", "4", "--device", "cpu"]
    overrides = small_run(synthetic_voc, tmp_path, "max_epoch", "3", "ckpt_interval_iters", "2", "eval_interval", "5")
    process = subprocess.Popen([sys.executable, *flags, *overrides], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    latest = tmp_path / "yolox_voc_nano" / "latest_ckpt.pth"
    deadline = time.time() + 300
    while time.time() < deadline:
        if latest.exists() and torch.load(latest, weights_only=False)["start_epoch"] >= 1:
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = torch.load(latest, weights_only=False)
    assert (killed_at["start_epoch"], killed_at["start_iter"]) < (3, 0)

    other_act = run([*flags, "--resume", *overrides, "act", "relu"])
    assert other_act.returncode == 2 and other_act.stderr.strip().splitlines()[-1] == (
        f"error: {latest}: trained with act 'silu', but yolox_voc_nano builds 'relu'; add 'act silu' to the command "
        "or use an exp with that activation")
    resumed = run([*flags, "--resume", *overrides])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"at epoch {killed_at['start_epoch'] + 1} iteration {killed_at['start_iter']}" in resumed.stderr
    # the schedule continues: the first iteration trained is the one after the checkpoint, not epoch 1 iter 1
    first_logged = next(line for line in resumed.stderr.splitlines() if "img/s" in line)
    assert f"epoch {killed_at['start_epoch'] + 1}/3, iter {killed_at['start_iter'] + 1}/" in first_logged
    assert torch.load(latest, weights_only=False)["start_epoch"] == 3
    # speed counters continue from the checkpoint: every one of the 3 x 6 iterations of 4 images counts once
    stats = json.loads((tmp_path / "yolox_voc_nano" / "train_stats.json").read_text())
    assert stats["images"] == 3 * 24
    assert stats["iter_seconds"] > killed_at["iter_seconds"] > 0 and killed_at["elapsed_seconds"] > 0


def test_two_process_gloo_training(synthetic_voc, tmp_path):
    result = run([TRAIN, "-f", "exps/yolox_voc_nano.py", "-b", "8", "-d", "2", "--device", "cpu",
                  *small_run(synthetic_voc, tmp_path, "max_epoch", "1")])
    assert result.returncode == 0, result.stderr[-3000:]
    checkpoint = torch.load(tmp_path / "yolox_voc_nano" / "latest_ckpt.pth", weights_only=False)
    assert checkpoint["start_epoch"] == 1
    # 24 images, batch 8 split over 2 processes of 4: 3 iterations per epoch in each
    assert "iter 3/3" in result.stderr
    stats = json.loads((tmp_path / "yolox_voc_nano" / "train_stats.json").read_text())
    assert (stats["images"], stats["world_size"]) == (24, 2)  # the run's images, not rank 0's 12


RANK1_POISONED_EXP = poisoned_exp("dist.is_initialized() and dist.get_rank() == 1 and len(calls) == 2",
                                  "at the 2nd iteration on rank 1 only")


def test_a_nan_on_one_rank_is_skipped_by_every_rank(synthetic_voc, tmp_path):
    exp = tmp_path / "rank1_poisoned_nano.py"
    exp.write_text(RANK1_POISONED_EXP)
    result = run([TRAIN, "-f", str(exp), "-b", "8", "-d", "2", "--device", "cpu",
                  *small_run(synthetic_voc, tmp_path, "max_epoch", "1", "nonfinite_loss", "skip",
                             "test_at_end", "False")], timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    # rank 0's own loss was finite; it skipped the step with rank 1 instead of waiting in the all-reduce
    assert "non-finite loss on another process at epoch 1, iteration 2: step skipped" in result.stderr


def test_library_train_returns_what_the_run_wrote(synthetic_voc, tmp_path):
    """``core.train`` in this process: the outcome's test result is the one written to test_eval.json, and
    its speed the one in train_stats.json (the quickstart and the benchmark read the outcome, not the files)."""
    from yolox_mods.core import TrainOptions, train
    from yolox_mods.exp_files import load_exp

    exp = load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano.py"),
                   small_run(synthetic_voc, tmp_path, "max_epoch", "1", "random_size", "None"), "smoke")
    outcome = train(exp, TrainOptions(batch_size=8, device="cpu"))
    assert outcome.run_dir == str(tmp_path / "yolox_voc_nano") and outcome.images == 24
    written = json.loads((tmp_path / "yolox_voc_nano" / "test_eval.json").read_text())
    assert 100 * outcome.test.map50 == pytest.approx(written["mAP50"], abs=0.006)
    assert len(outcome.test.image_ids) == written["images"] == 8
    stats = json.loads((tmp_path / "yolox_voc_nano" / "train_stats.json").read_text())
    assert stats["img_per_s"] == pytest.approx(outcome.img_per_s, abs=0.006)
    # the run records how it was trained, in its headline and its curve
    assert written["training"]["protocol"] == "smoke" and written["training"]["loader_workers"] == 0
    curve = json.loads((tmp_path / "yolox_voc_nano" / "curve.json").read_text())
    assert curve["version"] == 2 and curve["training"] == written["training"]
