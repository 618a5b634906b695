"""Every flag a tool parses works or is refused with one line; no checkpoint means an error, not random weights."""
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from yolox_mods.cli import benchmark as benchmark_cli
from yolox_mods.cli import eval as eval_cli
from yolox_mods.cli import export_onnx as export_cli
from yolox_mods.cli import train as train_cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def error_line(capfd, main, argv):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    lines = capfd.readouterr().err.strip().splitlines()
    return lines[-1]


@pytest.mark.parametrize("main, argv, message", [
    (eval_cli.main, ["-f", "exps/final_nano.py", "--trt"], "error: --trt: TensorRT evaluation is not supported"),
    (eval_cli.main, ["-f", "exps/final_nano.py", "--test"], "error: --test evaluates COCO test-dev; VOC has none"),
    (train_cli.main, ["-f", "exps/final_nano.py", "-o"], "error: -o/--occupy pre-allocates GPU memory"),
    (train_cli.main, ["-f", "exps/final_nano.py", "-l", "wandb"], "error: -l: yolox-lite logs to tensorboard only"),
    (eval_cli.main, ["-n", "final_nanoo"],
     f"error: -n final_nanoo: no exp of that name in {os.path.join(ROOT, 'exps')}; choose from dark2fpn_nano"),
    (eval_cli.main, ["-n", "ghost_nano", "-f", "exps/final_nano.py"], "error: -f exps/final_nano.py and -n "
                                                                      "ghost_nano name different exps"),
    (eval_cli.main, ["-n", "ghost_nano", "--random-weights", "-c", "x.pth"],
     "error: give one of -c, --onnx, --openvino and --random-weights"),
    (train_cli.main, [], "error: give an exp file with -f exps/<name>.py or its name with -n <name>"),
    (eval_cli.main, ["-n", "ghost_nano", "--random-weights"], "error: --random-weights goes with --speed only"),
    (eval_cli.main, ["-n", "ghost_nano", "--split", "val", "--random-weights", "--speed"],
     "error: --split val: this exp's val_sets are its test_sets"),
    (export_cli.main, ["-f", "exps/ghost_nano.py", "--random-weights", "-c", "x.pth"],
     "error: give -c or --random-weights, not both"),
    (benchmark_cli.main, ["train-speed", "--quick", "--fast-path", "data_num_workers"],
     "error: --fast-path takes KEY VALUE pairs; got 1 words"),
    (benchmark_cli.main, ["train-speed"], "error: train-speed needs --data-dir (a VOCdevkit), or --quick"),
    (benchmark_cli.main, ["report"], "error: give --latency RUN_DIR"),
    (benchmark_cli.main, ["report", "--runs", "a", "--latency", "b"], "error: --runs compares latency runs"),
])
def test_refused_before_anything_runs(capfd, main, argv, message):
    assert error_line(capfd, main, argv).startswith(message)


def test_n_finds_the_grouped_exps_that_published_weights_name(tmp_path, monkeypatch):
    from yolox_mods import exp_files as common

    exps = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "exps")
    assert common.chosen_exp_file(None, "final_nano_no_dwconv") == os.path.join(exps, "ablation",
                                                                              "final_nano_no_dwconv.py")
    assert common.chosen_exp_file(None, "final_nano") == os.path.join(exps, "final_nano.py")
    for path in ("twice.py", "group/twice.py"):
        (tmp_path / path).parent.mkdir(exist_ok=True)
        (tmp_path / path).write_text("")
    monkeypatch.setattr(common, "CHECKOUT_EXPS", str(tmp_path))
    with pytest.raises(common.ConfigError, match="-n twice: more than one exp of that name"):
        common.chosen_exp_file(None, "twice")


def test_n_looks_in_the_working_directorys_exps_first(tmp_path, monkeypatch):
    from yolox_mods import exp_files as common

    (tmp_path / "exps").mkdir()
    (tmp_path / "exps" / "final_nano.py").write_text("")
    (tmp_path / "exps" / "mine.py").write_text("")
    monkeypatch.chdir(tmp_path)
    assert common.chosen_exp_file(None, "final_nano") == str(tmp_path / "exps" / "final_nano.py")
    assert common.chosen_exp_file(None, "ghost_nano") == os.path.join(ROOT, "exps", "ghost_nano.py")
    with pytest.raises(common.ConfigError, match=f"-n nowhere: no exp of that name in {tmp_path / 'exps'} or "
                                                 f"{os.path.join(ROOT, 'exps')}; choose from .*mine"):
        common.chosen_exp_file(None, "nowhere")


def test_no_checkpoint_is_an_error_naming_where_it_looked(capfd, tmp_path):
    expected = os.path.join(str(tmp_path), "ghost_nano", "latest_ckpt.pth")
    line = error_line(capfd, eval_cli.main, ["-n", "ghost_nano", "--device", "cpu", "output_dir", str(tmp_path)])
    assert line == (f"error: no -c checkpoint given and no run checkpoint at {expected}; give -c CKPT "
                    "(or --random-weights to use untrained weights on purpose)")
    line = error_line(capfd, export_cli.main, ["-f", "exps/ghost_nano.py", "output_dir", str(tmp_path)])
    assert line.startswith(f"error: no -c checkpoint given and no run checkpoint at {expected}")


@pytest.mark.parametrize("decode", [False, True])
def test_export_checks_onnx_against_torch(capfd, tmp_path, decode):
    path = str(tmp_path / "m.onnx")
    argv = ["-f", "exps/mdconv_nano.py", "--random-weights", "--tsize", "64", "--output-name", path]
    export_cli.main(argv + (["--decode_in_inference"] if decode else []))
    assert "within atol 0.0001 + rtol 0.001 x |torch|" in capfd.readouterr().out


def test_export_fails_when_onnx_disagrees(capfd, tmp_path, monkeypatch):
    real_session = export_cli.onnx_session

    class Skewed:
        def __init__(self, path):
            self.session = real_session(path)

        def run(self, names, feeds):
            return [out * 1.01 + 0.01 for out in self.session.run(names, feeds)]

    monkeypatch.setattr(export_cli, "onnx_session", Skewed)
    path = str(tmp_path / "m.onnx")
    line = error_line(capfd, export_cli.main, ["-f", "exps/yolox_voc_nano.py", "--random-weights", "--tsize", "64",
                                               "--output-name", path])
    assert line.startswith(f"error: {path}: ONNX Runtime differs from PyTorch by up to")
    assert np.isfinite(float(line.split("up to ")[1].split(" ")[0]))


def test_a_job_already_using_the_cores_is_named(tmp_path):
    import psutil

    from yolox_mods.common.cli import other_jobs, warn_if_cores_are_shared

    # a stand-in whose command line looks like a training run, started outside this process tree (a launcher that
    # exits at once), with a child of its own that must not be listed twice
    job = ("import subprocess, sys, time; c = subprocess.Popen([sys.executable, '-c', 'import time; "
           "time.sleep(60)', 'tools/train.py']); time.sleep(60)")
    launcher = (f"import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', {job!r}, 'tools/train.py']); "
                f"open({str(tmp_path / 'pid')!r}, 'w').write(str(p.pid))")
    subprocess.run([sys.executable, "-c", launcher], check=True)
    pid = int((tmp_path / "pid").read_text())
    try:
        deadline = time.time() + 20
        while time.time() < deadline and len(psutil.Process(pid).children()) < 1:
            time.sleep(0.2)
        assert [p for p, cmdline in other_jobs() if "time.sleep(60)" in cmdline] == [pid]
        messages = []
        warn_if_cores_are_shared(messages.append)
        assert len(messages) == 1 and "slow each other" in messages[0]
    finally:
        for process in [*psutil.Process(pid).children(recursive=True), psutil.Process(pid)]:
            process.kill()


CLI_MODULES = ["yolox_mods.cli." + name for name in ("train", "eval", "demo", "export_onnx", "quantize_onnx",
                                                     "benchmark", "check_data", "plot_curves", "publish_weights",
                                                     "quickstart", "prune")] + [
    "classification.compress", "classification.evaluate", "classification.block_study", "classification.seeds",
    "classification.deploy"]


def test_every_cli_runs_with_python_m():
    # runpy.run_module is what `python -m` does; one interpreter for all keeps the test cheap
    code = ("import runpy, sys\n"
            "for module in sys.argv[1:]:\n"
            "    sys.argv = [module, '--help']\n"
            "    try:\n"
            "        runpy.run_module(module, run_name='__main__', alter_sys=True)\n"
            "    except SystemExit as stop:\n"
            "        print(module, 'exit', stop.code)\n")
    result = subprocess.run([sys.executable, "-c", code, *CLI_MODULES], capture_output=True, text=True, timeout=300)
    assert [line for line in result.stdout.splitlines() if " exit " in line] == [f"{m} exit 0" for m in CLI_MODULES]


def test_each_tool_has_one_entry_point():
    """The detector's tools are tools/<name>.py shims over yolox_mods.cli.<name> (YOLOX's convention), the
    classifier's ``python -m classification.<name>``; no console scripts besides them."""
    from importlib.metadata import entry_points

    assert [e.name for e in entry_points(group="console_scripts") if e.name.startswith("yolox-lite")] == []
    tools = sorted(os.path.splitext(name)[0] for name in os.listdir(os.path.join(ROOT, "tools")))
    assert ["yolox_mods.cli." + name for name in tools] == sorted(m for m in CLI_MODULES if m.startswith("yolox_mods"))
    for name in tools:
        with open(os.path.join(ROOT, "tools", name + ".py")) as file:
            assert f"from yolox_mods.cli.{name} import main" in file.read(), name
