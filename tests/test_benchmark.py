"""tools/benchmark.py: latency, report, profile and train-speed write their outputs; the report's mAP, intervals
and tables from evaluation records."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_quick_benchmark_commands_write_their_results(tmp_path):
    def benchmark(*args):
        result = subprocess.run([sys.executable, "tools/benchmark.py", *args], capture_output=True, text=True,
                                cwd=ROOT, timeout=900)
        assert result.returncode == 0, result.stderr[-3000:]
        return result

    exps = ["--exps", "exps/yolox_voc_nano.py", "exps/mdconv_nano.py"]
    # a pruned checkpoint is timed as its own row, in its own architecture
    from yolox_mods.common import atomic_save
    from yolox_mods.exp_files import load_exp
    from yolox_mods.pruning import PruneSettings, architecture_of, prune_detector

    pruned, _ = prune_detector(load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano.py")).get_model(),
                               PruneSettings(ratio=0.5), example_size=128)
    atomic_save({"model": pruned.state_dict(), "architecture": architecture_of(pruned),
                 "exp_name": "yolox_voc_nano"}, str(tmp_path / "p50.pth"))
    benchmark("latency", "--quick", *exps, "--checkpoints", f"stock_p50={tmp_path / 'p50.pth'}", "--output",
              str(tmp_path / "latency"))
    rows = json.load(open(tmp_path / "latency" / "variants.json"))
    assert [r["exp"] for r in rows] == ["yolox_voc_nano", "mdconv_nano", "stock_p50"]
    stock, mdconv, thinned = rows
    assert thinned["gflops"] < 0.45 * stock["gflops"] and set(thinned["latency_ratio"]) == {"torch@128", "onnx@128"}
    assert stock["latency_ratio"] == {"torch@128": 1.0, "onnx@128": 1.0}
    assert set(mdconv["latency_ms"]) == {"torch@128", "onnx@128"}
    assert mdconv["params_m"] == pytest.approx(0.8851, abs=1e-4)
    stored = json.load(open(tmp_path / "latency" / "latency.json"))
    assert len(stored["orders"]) == 2 and stored["exps"] == exps[1:] and "rounds" in stored["header"]
    assert os.path.getsize(tmp_path / "latency" / "variants.png") > 1000

    # the report pairs the latency run with evaluations, without measuring again
    evals = [write_eval(tmp_path / f"{exp}_s{seed}.json", exp, map50, map50 / 2, {"cat": map50})
             for exp, seed, map50 in (("yolox_voc_nano", 0, 10.0), ("yolox_voc_nano", 1, 11.0),
                                      ("mdconv_nano", 0, 12.0), ("stock_p50", 0, 9.0))]
    benchmark("report", "--latency", str(tmp_path / "latency"), "--evals", *evals, "--output", str(tmp_path / "r"))
    reported = {r["exp"]: r for r in json.load(open(tmp_path / "r" / "variants.json"))}
    assert reported["yolox_voc_nano"]["map50_runs"] == pytest.approx([0.10, 0.11])
    assert reported["mdconv_nano"]["latency_ratio"] == mdconv["latency_ratio"]
    # the pruned row's evaluations (run with `exp_name stock_p50`) pair with it, not with stock
    assert reported["stock_p50"]["map50_runs"] == pytest.approx([0.09])
    assert reported["stock_p50"]["gflops"] == thinned["gflops"]
    assert "rounds" in open(tmp_path / "r" / "variants.md").read()

    benchmark("train-speed", "--quick", "--exps", "exps/yolox_voc_nano.py", "--rounds", "1", "--fast-path",
              "data_num_workers", "0", "--output", str(tmp_path / "speed"))
    speed = json.load(open(tmp_path / "speed" / "train_speed.json"))
    assert speed["exp"] == "yolox_voc_nano" and speed["size"] == 128 and speed["iterations"] == 2
    (round_,) = speed["rounds"]
    assert round_["plain_img_per_s"] > 0 and round_["ratio"] == pytest.approx(
        round_["ours_img_per_s"] / round_["plain_img_per_s"], rel=1e-2)
    assert speed["fast_path"] == ["data_num_workers", "0"] and round_["fast_ratio"] == pytest.approx(
        round_["fast_img_per_s"] / round_["ours_img_per_s"], rel=1e-2)

    benchmark("profile", *exps, "--size", "128", "--calls", "3", "--output", str(tmp_path / "profile"))
    profile = open(tmp_path / "profile" / "onnx_profile.md").read()
    assert "| depthwise 9x9 " in profile and "| conv 1x1 " in profile  # MixConv's largest kernel is 9
    assert re.search(r"\| total +\| +[\d.]+ +\| +[\d.]+ +\|", profile)


# the setting every quick-protocol run of a table shares (the benchmark refuses to pair runs of two settings)
SETTING = {"protocol": "quick", "loader_workers": 0}


def write_eval(path, exp, map50, map50_95, per_class, **fields):
    """An ``EvalRecord`` of a run trained with ``SETTING`` (``fields`` override), written to ``path``."""
    from yolox_mods.common.provenance import RunSetting
    from yolox_mods.evaluators import EvalRecord

    values = {"split": "test", "image_sets": [["2007", "test"]], "images": 8, "model_file": "x.pth",
              "training": RunSetting(**SETTING), **fields}
    path.write_text(EvalRecord(exp=exp, map50=map50, map50_95=map50_95, per_class_ap50=per_class, **values).to_json())
    return str(path)


def ablations():
    from yolox_mods.benchmark import read_ablations

    return read_ablations(os.path.join(ROOT, "exps", "ablations.yaml"))


def test_evaluations_of_two_seeds_give_mean_and_range(tmp_path):
    from yolox_mods.benchmark import VariantResult, add_evaluations, read_evaluations, write_report

    results = {name: VariantResult(name, 0.9, 1.0, {"onnx@416": ms}, {"onnx@416": ms / 6.0})
               for name, ms in (("stock", 6.0), ("final", 7.0))}
    paths = [write_eval(tmp_path / "a.json", "final", 18.0, 8.0, {"cat": 10.0, "dog": 30.0}),
             write_eval(tmp_path / "b.json", "final", 14.0, 6.0, {"cat": 20.0, "dog": 10.0}),
             write_eval(tmp_path / "c.json", "stock", 10.0, 5.0, {"cat": 5.0, "dog": 5.0})]
    add_evaluations(results, read_evaluations(paths, dict.fromkeys(results, "silu")))
    final = results["final"]
    assert final.map50 == pytest.approx(0.16) and final.map50_95 == pytest.approx(0.07)
    assert final.map50_runs == pytest.approx([0.18, 0.14])
    assert final.per_class_ap50 == pytest.approx({"cat": 0.15, "dog": 0.20})
    table = write_report(list(results.values()), str(tmp_path / "out"))
    assert re.search(r"\| 16\.00 \(14\.00-18\.00, n=2\) +\| 7\.00 \(6\.00-8\.00, n=2\) +\|", table)
    assert "| 10.00 " in table
    assert "+6.00 (one run: spread not measured)" in table  # stock has one run
    from PIL import Image

    with Image.open(tmp_path / "out" / "variants.png") as png:
        assert png.format == "PNG" and png.size == (1210, 462)  # 11 x 4.2 inches at 110 dpi


def test_pareto_plot_tells_apart_exps_at_the_same_point(tmp_path, monkeypatch):
    from yolox_mods.benchmark import VariantResult, plot_pareto
    from yolox_mods.common import plotting

    figures = []
    monkeypatch.setattr(plotting, "save_figure", lambda figure, path: figures.append(figure))
    # two activations of one design: same GFLOPs and, here, the same mAP50
    results = [VariantResult(name, 0.9, 1.08, {"onnx@416": ms}, {"onnx@416": ms / 6.0}, map50=0.12)
               for name, ms in (("final", 6.0), ("final_lrelu", 6.0), ("stock", 7.0))]
    plot_pareto(results, str(tmp_path / "variants.png"))
    (gflops_axis, _) = figures[0].axes[:2]
    assert [text.get_text() for text in gflops_axis.get_legend().get_texts()] == ["final", "final_lrelu", "stock"]
    collections = gflops_axis.collections[:2]  # the two points drawn at (1.08, 12.0)
    assert [tuple(c.get_offsets()[0]) for c in collections] == [(1.08, 12.0), (1.08, 12.0)]
    looks = {(tuple(c.get_facecolor()[0]), c.get_paths()[0].vertices.tobytes()) for c in collections}
    assert len(looks) == 2


def test_ablation_rows_pair_each_change_with_its_baseline(tmp_path):
    from yolox_mods.benchmark import VariantResult, add_evaluations, read_evaluations, write_report

    scores = {"yolox_voc_nano": [(10.0, 5.0), (12.0, 6.0)], "dwconv_nano": [(15.0, 7.0), (16.0, 7.5)],
              "ghost_nano": [(10.5, 5.5), (11.5, 5.0)], "final_nano": [(18.0, 9.0)],
              "final_nano_no_dark2": [(17.0, 8.0), (17.5, 8.5)]}
    results = {name: VariantResult(name, 0.9, 1.0, {"onnx@416": 6.0}, {"onnx@416": 1.0}) for name in scores}
    paths = [write_eval(tmp_path / f"{name}{seed}.json", name, map50, map50_95, {"cat": map50})
             for name, runs in scores.items() for seed, (map50, map50_95) in enumerate(runs)]
    add_evaluations(results, read_evaluations(paths, dict.fromkeys(results, "silu")), ablations())
    write_report(list(results.values()), str(tmp_path / "out"), ablations=ablations())
    rows = {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip().strip("|").split("|")]
                                              for line in open(tmp_path / "out" / "ablation.md")
                                              if line.startswith("| ") and not line.startswith("| change"))}
    # means by hand: stock 11.00 / 5.50, dwconv 15.50 / 7.25 (spreads 2 and 1 / 1 and 0.5), ghost 11.00 / 5.25
    assert rows["DWConv k7 (backbone, neck) / k5 (head)"] == [
        "dwconv_nano - yolox_voc_nano", "2 / 2", "+4.50 (beyond seed spread)", "+1.75 (beyond seed spread)", "helps"]
    assert rows["Ghost backbone"][2:] == ["+0.00 (within seed spread: no difference)",
                                          "-0.25 (within seed spread: no difference)", "worse"]
    assert rows["final combination"][1:3] == ["1 / 2", "+7.00 (one run: spread not measured)"]
    assert rows["Dark2 path, inside final"][:3] == ["final_nano - final_nano_no_dark2", "1 / 2",
                                                   "+0.75 (one run: spread not measured)"]
    assert set(rows) == {"DWConv k7 (backbone, neck) / k5 (head)", "Ghost backbone", "final combination",
                         "Dark2 path, inside final"}  # rows whose exps have no scores are left out


def test_exported_models_scores_meet_their_latency_in_the_deployment_table(tmp_path):
    from yolox_mods.benchmark import VariantResult, add_evaluations, read_evaluations, write_report

    latency = {"stock": {"onnx@416": 6.0, "onnx-int8@416": 5.0, "onnx@256": 3.0, "onnx-int8@256": 2.4},
               "final": {"onnx@416": 7.0, "onnx-int8@416": 4.5, "onnx@256": 3.3, "onnx-int8@256": 2.2}}
    results = {name: VariantResult(name, 0.9, 1.0, ms, {k: v / latency["stock"][k.replace("-int8", "")]
                                                        for k, v in ms.items()})
               for name, ms in latency.items()}
    paths = []
    for index, (exp, runtime, map50) in enumerate((("stock", "torch", 10.0), ("stock", "onnx-int8", 9.0),
                                                   ("stock", "onnx-int8", 8.0), ("final", "onnx", 12.0))):
        paths.append(write_eval(tmp_path / f"{index}.json", exp, map50, map50 / 2, {"cat": map50},
                                test_size=[256, 256], runtime=runtime,
                                model_file=f"{exp}.onnx" if runtime != "torch" else "x.pth"))
    add_evaluations(results, read_evaluations(paths, dict.fromkeys(results, "silu")))
    stock, final = results["stock"], results["final"]
    assert stock.map50 == pytest.approx(0.10) and final.map50 is None  # exported scores are not PyTorch's
    assert stock.deployed == {"onnx-int8": pytest.approx({"map50": 0.085, "map50_95": 0.0425, "runs": 2,
                                                          "vs_torch": -0.015, "paired": False})}
    write_report(list(results.values()), str(tmp_path / "out"))
    rows = [line for line in open(tmp_path / "out" / "deployment.md") if line.startswith("| stock") or
            line.startswith("| final")]
    cells = [[c.strip() for c in row.strip().strip("|").split("|")] for row in rows]
    # no weights recorded: two exported runs against one PyTorch run, said so
    assert ["stock", "onnx-int8", "2", "8.50", "4.25", "-1.50 (means of 2 vs 1 runs)", "5.0 (0.83x)",
            "2.4 (0.80x)"] in cells
    assert ["final", "onnx", "1", "12.00", "6.00", "-", "7.0 (1.17x)", "3.3 (1.10x)"] in cells
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"exp": "stock", "onnx": "x.onnx", "mAP50": 1.0, "mAP50_95": 1.0,
                               "per_class_AP50": {}}))
    with pytest.raises(ValueError, match="old.json: an exported model's result without its runtime"):
        read_evaluations([str(old)], {"stock": "silu"})


def test_exported_scores_are_paired_with_the_pytorch_score_of_their_own_weights(tmp_path):
    from yolox_mods.benchmark import VariantResult, add_evaluations, read_evaluations, write_report

    ms = {"onnx@416": 6.0, "openvino-int8@416": 3.0}
    results = {"stock": VariantResult("stock", 0.9, 1.0, ms, {k: v / 6.0 for k, v in ms.items()})}
    scores = [("torch", "w0", 10.0), ("torch", "w1", 12.0), ("torch", "w2", 14.0),  # three seeds in PyTorch
              ("openvino-int8", "w0", 9.0),  # one of them exported: 1.00 below its own weights
              ("onnx", "w1", 12.0), ("onnx", "elsewhere", 13.0)]  # one export of weights never scored in PyTorch
    paths = []
    for index, (runtime, weights, map50) in enumerate(scores):
        paths.append(write_eval(tmp_path / f"{index}.json", "stock", map50, map50 / 2, {"cat": map50},
                                test_size=[256, 256], runtime=runtime, weights=weights,
                                model_file="stock.onnx" if runtime != "torch" else "x.pth"))
    add_evaluations(results, read_evaluations(paths, {"stock": "silu"}))
    deployed = results["stock"].deployed
    assert deployed["openvino-int8"]["paired"] and deployed["openvino-int8"]["vs_torch"] == pytest.approx(-0.01)
    assert not deployed["onnx"]["paired"] and deployed["onnx"]["vs_torch"] == pytest.approx(0.005)  # 12.5 - 12
    write_report(list(results.values()), str(tmp_path / "out"))
    cells = {row.split("|")[2].strip(): row.split("|")[6].strip()
             for row in open(tmp_path / "out" / "deployment.md") if row.startswith("| stock")}
    assert cells == {"openvino-int8": "-1.00", "onnx": "+0.50 (means of 2 vs 3 runs)", "torch": "-"}


def test_evaluations_with_judged_detections_get_a_bootstrap_interval(tmp_path):
    from tests.test_voc_map import CLASSES, random_case
    from yolox_mods.benchmark import VariantResult, add_evaluations, read_evaluations, write_report
    from yolox_mods.common.provenance import RunSetting
    from yolox_mods.evaluators import evaluate_voc, record_evaluation

    records, noisy = random_case(7, images=60)
    perfect = {i: (r.boxes, np.linspace(1, 0.5, len(r.boxes)), r.labels) for i, r in enumerate(records)}
    paths = []
    for name, exp, detections in (("s0", "stock", noisy), ("s1", "stock", noisy), ("f0", "final", perfect),
                                  ("f1", "final", perfect)):
        path = str(tmp_path / f"{name}.json")
        record_evaluation(path, evaluate_voc(records, detections, CLASSES), exp=exp, split="test",
                          image_sets=[["2007", "test"]], training=RunSetting(**SETTING))
        paths.append(path)
    results = {name: VariantResult(name, 0.9, 1.0, {"onnx@416": 6.0}, {"onnx@416": 1.0})
               for name in ("stock", "final")}
    add_evaluations(results, read_evaluations(paths, dict.fromkeys(results, "silu")), draws=200)
    low, high = results["final"].map50_intervals["stock"]
    assert 0 < low <= results["final"].map50 - results["stock"].map50 <= high
    table = write_report(list(results.values()), str(tmp_path / "out"))
    assert "(difference: beyond seed spread, CI excludes 0)" in table

    val = tmp_path / "val.json"
    val.write_text(json.dumps({**json.loads(open(paths[0]).read()), "split": "val"}))
    with pytest.raises(ValueError, match="val.json: scored on .*val.*compare one split only"):
        read_evaluations([paths[0], str(val)], {"stock": "silu"})


def test_ablation_rows_call_a_difference_only_when_the_paired_interval_agrees(tmp_path):
    from tests.test_voc_map import CLASSES, random_case
    from yolox_mods.benchmark import VariantResult, add_evaluations, read_evaluations, write_report
    from yolox_mods.common.provenance import RunSetting
    from yolox_mods.evaluators import evaluate_voc, record_evaluation

    records, noisy = random_case(11, images=60)
    perfect = {i: (r.boxes, np.linspace(1, 0.5, len(r.boxes)), r.labels) for i, r in enumerate(records)}
    runs = {"yolox_voc_nano": noisy, "final_nano": perfect, "final_nano_no_dark2": noisy, "final_nano_no_mdconv":
            perfect}
    paths = []
    for exp, detections in runs.items():
        for seed in (0, 1):
            path = str(tmp_path / f"{exp}_s{seed}.json")
            record_evaluation(path, evaluate_voc(records, detections, CLASSES), exp=exp, split="test",
                              image_sets=[["2007", "test"]], training=RunSetting(**SETTING))
            paths.append(path)
    results = {exp: VariantResult(exp, 0.9, 1.0, {"onnx@416": 6.0}, {"onnx@416": 1.0}) for exp in runs}
    add_evaluations(results, read_evaluations(paths, dict.fromkeys(results, "silu")), ablations(), draws=200)
    low, high = results["final_nano"].map50_intervals["final_nano_no_dark2"]
    gain = evaluate_voc(records, perfect, CLASSES).map50 - evaluate_voc(records, noisy, CLASSES).map50
    assert 0 < low <= gain <= high
    assert results["final_nano"].map50_intervals["final_nano_no_mdconv"] == (0.0, 0.0)  # the same detections
    write_report(list(results.values()), str(tmp_path / "out"), ablations=ablations())
    rows = {cells[0]: cells[3] for cells in ([c.strip() for c in line.strip().strip("|").split("|")]
                                             for line in open(tmp_path / "out" / "ablation.md")
                                             if line.startswith("| ") and not line.startswith("| change"))}
    assert rows["Dark2 path, inside final"] == (f"{100 * gain:+.2f}, 95% CI [{100 * low:+.2f}, {100 * high:+.2f}] "
                                                "(difference: beyond seed spread, CI excludes 0)")
    assert rows["MDConv, inside final"] == ("+0.00, 95% CI [+0.00, +0.00] "
                                            "(no difference shown: within seed spread, CI includes 0)")
    assert "CI excludes 0" in rows["final combination"]


def test_a_bad_evaluation_file_is_named_before_measuring(tmp_path):
    from yolox_mods.benchmark import read_evaluations

    relu = write_eval(tmp_path / "relu.json", "stock", 1.0, 1.0, {}, act="relu")
    with pytest.raises(ValueError, match="relu.json: trained with act 'relu', but stock builds 'silu'"):
        read_evaluations([relu], {"stock": "silu"})
    assert read_evaluations([relu], {"stock": "relu"})["stock"][0].record.act == "relu"

    # a run of twice the epochs is a longer schedule, not another seed of the same exp
    quick, longer, unrecorded, final = (tmp_path / f"{name}.json" for name in ("quick", "2x", "old", "final"))
    for path, exp, epoch in ((quick, "stock", 45), (longer, "stock", 90), (unrecorded, "stock", None),
                             (final, "final", 10)):
        write_eval(path, exp, 1.0, 1.0, {}, epoch=epoch)
    exps = {"stock": "silu", "final": "silu"}
    with pytest.raises(ValueError, match="2x.json: a model of stock trained 90 epochs in all, but .*quick.json 45"):
        read_evaluations([str(quick), str(unrecorded), str(final), str(longer)], exps)
    assert len(read_evaluations([str(quick), str(unrecorded), str(final)], exps)["stock"]) == 2

    broken = tmp_path / "broken.json"
    broken.write_text("{\"exp\": \"final\"")
    with pytest.raises(ValueError, match="broken.json: not a readable evaluation record"):
        read_evaluations([str(broken)], {"final": "silu"})
    other = write_eval(tmp_path / "other.json", "ghost", 1.0, 1.0, {})
    with pytest.raises(ValueError, match="other.json: exp 'ghost' is not one of the benchmarked rows"):
        read_evaluations([other], {"final": "silu"})
    with pytest.raises(ValueError, match="other.json: row 'pruned' is not one of the benchmarked rows"):
        read_evaluations([f"pruned={other}"], {"final": "silu"})
    result = subprocess.run([sys.executable, "tools/benchmark.py", "report", "--latency", str(tmp_path / "nowhere"),
                             "--evals", str(broken), "--output", str(tmp_path / "out")], capture_output=True,
                            text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"error: {tmp_path / 'nowhere' / 'latency.json'}: not a latency run")


def test_fine_tuned_rows_count_their_starting_epochs_and_meet_only_equal_epoch_stock(tmp_path):
    from yolox_mods.benchmark import VariantResult, add_evaluations, read_evaluations, write_report

    results = {name: VariantResult(name, 0.9, 1.0, {"onnx@416": 6.0}, {"onnx@416": 1.0})
               for name in ("stock", "p50", "p50_short")}
    # records of the exp they were built with (final_nano), filed under the latency run's --checkpoints rows
    specs = [write_eval(tmp_path / "stock.json", "stock", 10.0, 5.0, {}, epoch=90),
             "p50=" + write_eval(tmp_path / "kd0.json", "final", 14.0, 6.0, {}, epoch=45, prior_epochs=45),
             "p50=" + write_eval(tmp_path / "kd1.json", "final", 15.0, 6.0, {}, epoch=45, prior_epochs=45),
             "p50_short=" + write_eval(tmp_path / "kd2.json", "final", 13.0, 6.0, {}, epoch=10, prior_epochs=45)]
    runs = read_evaluations(specs, {"stock": "silu", "p50": "silu", "p50_short": "silu", "final": "silu"})
    assert sorted(runs) == ["p50", "p50_short", "stock"] and len(runs["p50"]) == 2
    add_evaluations(results, runs)
    table = write_report(list(results.values()), str(tmp_path / "out"))
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")] for line in table.splitlines()
            if line.startswith("| ")}
    assert "epochs" in rows["exp"]
    assert rows["stock"][rows["exp"].index("epochs")] == "90"
    assert rows["p50"][rows["exp"].index("epochs")] == "45+45"
    assert rows["p50"][-2].startswith("+4.50")                    # 14.5 against 10, both 90 epochs in all
    assert rows["p50_short"][-2] == "- (55 vs 90 epochs)"         # not compared: another schedule
    with pytest.raises(ValueError, match="kd2.json: a model of p50 trained 55 epochs in all, but .*kd0.json 90"):
        read_evaluations(specs[1:3] + ["p50=" + specs[3].split("=", 1)[1]], {"p50": "silu"})


def test_best_val_epoch_is_a_secondary_column_read_from_each_runs_curve(tmp_path):
    from yolox_mods.benchmark import VariantResult, add_evaluations, read_evaluations, write_report

    results = {name: VariantResult(name, 0.9, 1.0, {"onnx@416": 6.0}, {"onnx@416": 1.0}) for name in ("stock", "final")}
    curves = {  # best_ckpt.pth follows mAP50:95: seed 0's best mAP50 (epoch 40) is not its best epoch
        "s0": [{"epoch": 35, "mAP50": 14.0, "mAP50_95": 7.0}, {"epoch": 40, "mAP50": 16.0, "mAP50_95": 7.5},
               {"epoch": 42, "mAP50": 15.0, "mAP50_95": 8.0}, {"epoch": 45, "mAP50": 13.0, "mAP50_95": 6.0}],
        "s1": [{"epoch": 44, "mAP50": 12.0, "mAP50_95": 6.5}, {"epoch": 45, "mAP50": 11.0, "mAP50_95": 6.5}]}
    for points in curves.values():
        for point in points:
            point["minutes"] = point["epoch"] * 1.1
    paths = []
    for run, curve in curves.items():
        (tmp_path / run).mkdir()
        (tmp_path / run / "curve.json").write_text(json.dumps(curve))
        paths.append(write_eval(tmp_path / run / "test_eval.json", "final", 12.0, 6.0, {"cat": 12.0}))
    paths.append(write_eval(tmp_path / "stock.json", "stock", 10.0, 5.0, {"cat": 10.0}))  # no curve beside it
    add_evaluations(results, read_evaluations(paths, dict.fromkeys(results, "silu")))
    final = results["final"]
    assert final.best_val_epochs == [42, 44]  # the first of two equal points, as the trainer keeps it
    assert final.best_val_map50_runs == pytest.approx([0.15, 0.12])
    assert final.map50 == pytest.approx(0.12)  # the headline stays the last epoch's test score
    table = write_report(list(results.values()), str(tmp_path / "out"))
    final_row = next(line for line in table.splitlines() if line.startswith("| final"))
    assert "| 13.50 (epochs 42, 44) " in final_row and "val mAP50 at best val epoch (secondary)" in table
    assert not results["stock"].best_val_epochs

    (tmp_path / "s1" / "curve.json").write_text(json.dumps([{"epoch": 45, "minutes": 50.0, "mAP50": 11.0}]))
    with pytest.raises(ValueError, match="s1/curve.json: expected a list of points with numbers for epoch, minutes, "
                                         "mAP50, mAP50_95"):
        read_evaluations(paths, dict.fromkeys(results, "silu"))
    # a value that is not a number would otherwise be compared when the best epoch is picked
    (tmp_path / "s1" / "curve.json").write_text(json.dumps([{**curves["s1"][0], "mAP50_95": "6.5"}]))
    with pytest.raises(ValueError, match="s1/curve.json: expected a list of points with numbers"):
        read_evaluations(paths, dict.fromkeys(results, "silu"))


def test_step_profile_splits_a_real_training_step(synthetic_voc):
    from yolox_mods.benchmark import PHASES, profile_training_step, step_profile_table
    from yolox_mods.exp_files import load_exp

    exp = load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano.py"),
                   ["data_dir", synthetic_voc, "input_size", "(128,128)", "random_size", "None", "mosaic_prob", "0.0",
                    "data_num_workers", "0"])
    profile = profile_training_step(exp, batch_size=4, iterations=3, warmup=1, cache=False)
    assert set(profile) == {*PHASES, "total"} and all(profile[p] >= 0 for p in PHASES)
    # every image of the generated set has objects, so SimOTA ran for each of them
    assert profile["assignment"] > 0 and profile["forward"] > 0 and profile["backward"] > 0
    assert profile["total"] == pytest.approx(sum(profile[p] for p in PHASES))
    table = step_profile_table({"stock": profile}, 4)
    assert "| assignment" in table and f"{4 / profile['total']:.1f}" in table


def test_the_benchmark_leaves_committed_results_alone_by_default():
    from yolox_mods.cli.benchmark import make_parser

    for command in ("latency", "report", "profile", "train-speed", "train-profile"):
        output = make_parser().parse_args([command]).output
        assert os.path.abspath(output) != os.path.abspath(os.path.join(ROOT, "results"))


def test_deployment_runtimes_are_timed_against_stock_onnx_runtime_fp32(synthetic_voc):
    from yolox_mods.benchmark import measure_variants
    from yolox_mods.benchmark.latency import untie_constants
    from yolox_mods.exp_files import load_exp
    from yolox_mods.quantize import training_images

    exps = [load_exp(os.path.join(ROOT, "exps", name + ".py"), ["data_dir", synthetic_voc])
            for name in ("yolox_voc_nano", "final_k5_nano")]
    runtimes = ["torch", "onnx", "openvino", "onnx-int8", "openvino-int8"]
    # as the benchmark times untrained exps: fresh BN statistics give near-constant tensors percentile cannot bin
    models = {exp.exp_name: untie_constants(exp.get_model()) for exp in exps}
    results, run = measure_variants(models, [64], runtimes, rounds=3, calls_per_block=3, warmup=1,
                                    calibration=training_images(exps[0], 4))
    stock = results["yolox_voc_nano"]
    assert set(stock.latency_ms) == {f"{runtime}@64" for runtime in runtimes}
    assert len(run.orders) == 3 and len({order[0] for order in run.orders}) == 3  # the order rotates
    for name, result in results.items():
        for setting, ms in result.latency_ms.items():
            # within each round, against stock's ONNX Runtime FP32 (PyTorch against PyTorch)
            baseline = run.per_round["yolox_voc_nano|" + ("torch@64" if setting.startswith("torch") else "onnx@64")]
            own = run.per_round[f"{name}|{setting}"]
            assert ms == pytest.approx(sorted(own)[1], abs=0.01)  # the median of its three blocks
            ratios = sorted(a / b for a, b in zip(own, baseline))
            assert result.latency_ratio[setting] == pytest.approx(ratios[1], abs=2e-3), (name, setting)
            low, high = result.latency_interval[setting]
            assert ratios[0] - 1e-3 <= low <= result.latency_ratio[setting] <= high <= ratios[2] + 1e-3
    with pytest.raises(ValueError, match="INT8 runtimes need calibration images"):
        measure_variants({"stock": exps[0].get_model()}, [64], ["onnx-int8"])


def test_untied_constants_export_like_a_trained_model(tmp_path):
    """Default-initialised BNs fold into identical biases that the exporter shares (Identity nodes, and a slower
    INT8 graph); untied ones export one constant per conv, as trained weights do."""
    import onnx
    import torch

    from yolox_mods.benchmark import untie_constants
    from yolox_mods.exp_files import load_exp
    from yolox_mods.export import export_onnx

    exp = load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano.py"))
    counts = {}
    for name, model in (("default", exp.get_model()), ("untied", untie_constants(exp.get_model()))):
        export_onnx(model, str(tmp_path / f"{name}.onnx"), (64, 64))
        nodes = onnx.load(str(tmp_path / f"{name}.onnx")).graph.node
        counts[name] = sum(node.op_type == "Identity" for node in nodes)
    assert counts["default"] > 50 and counts["untied"] == 0
    before = exp.get_model()
    torch.manual_seed(1)
    assert torch.equal(untie_constants(exp.get_model()).state_dict()["head.stems.0.bn.bias"],
                       untie_constants(before).state_dict()["head.stems.0.bn.bias"])  # seeded


def test_given_exps_are_reordered_stock_first_and_otherwise_kept():
    from yolox_mods.cli.benchmark import stock_first

    given = ["exps/dark2fpn_nano.py", "exps/ablation/final_nano_no_dark2.py", "exps/yolox_voc_nano.py",
             "exps/final_nano.py"]
    assert stock_first(given) == ["exps/yolox_voc_nano.py", "exps/dark2fpn_nano.py",
                                  "exps/ablation/final_nano_no_dark2.py", "exps/final_nano.py"]


def test_runs_are_combined_with_a_verdict_per_ratio(tmp_path):
    from yolox_mods.benchmark import combine_runs

    machine = {"cpu": "Test CPU", "flags": ["avx2"], "cores": 2}
    ratios = [{"onnx@256": (1.0, 1.0, 1.0), "openvino@256": (0.50, 0.48, 0.52), "onnx-int8@256": (0.9, 0.7, 1.1),
               "openvino-int8@256": (0.60, 0.58, 0.62)},
              {"onnx@256": (1.0, 1.0, 1.0), "openvino@256": (0.51, 0.49, 0.53), "onnx-int8@256": (0.9, 0.8, 1.0),
               "openvino-int8@256": (0.70, 0.68, 0.72)}]
    dirs = []
    for index, run in enumerate(ratios):
        folder = tmp_path / f"run{index}"
        folder.mkdir()
        (folder / "variants.json").write_text(json.dumps([{
            "exp": "stock", "latency_ms": {k: 5.0 * v[0] for k, v in run.items()},
            "latency_ratio": {k: v[0] for k, v in run.items()},
            "latency_interval": {k: [v[1], v[2]] for k, v in run.items() if k != "onnx@256"}}]))
        (folder / "latency.json").write_text(json.dumps({"machine": machine, "busy_rounds": [2] if index else []}))
        dirs.append(str(folder))
    table = combine_runs(dirs)
    verdicts = {line.split("|")[2].strip(): line.split("|")[-2].strip() for line in table.splitlines()
                if line.startswith("| stock")}
    assert verdicts == {"onnx@256": "reference", "openvino@256": "resolved, runs agree",
                        "onnx-int8@256": "not resolved", "openvino-int8@256": "runs disagree"}
    assert "busy rounds [2]" in table and "Test CPU (avx2)" in table
