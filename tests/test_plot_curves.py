"""tools/plot_curves.py: learning curves of several runs in one picture, bad curve files named."""
import json

import pytest

from yolox_mods.cli.plot_curves import main, run_label


def write_curve(run, points):
    run.mkdir(parents=True)
    (run / "curve.json").write_text(json.dumps(points))


def test_two_seeds_of_one_exp_get_distinct_labels_and_plot_by_epoch(tmp_path):
    curve = [{"epoch": 5, "minutes": 4.8, "mAP50": 2.7, "mAP50_95": 1.1},
             {"epoch": 10, "minutes": 9.4, "mAP50": 3.6, "mAP50_95": 1.4}]
    runs = [tmp_path / "seed0" / "yolox_voc_nano", tmp_path / "seed1" / "yolox_voc_nano"]
    for run in runs:
        write_curve(run, curve)
    assert [run_label(str(run)) for run in runs] == ["seed0/yolox_voc_nano", "seed1/yolox_voc_nano"]
    main([str(run) for run in runs] + ["--x", "epoch", "-o", str(tmp_path / "curves.png")])
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("content, message", [("{not json", "not a readable learning curve"),
                                              ('[{"epoch": 5}]', "expected a list of points")])
def test_bad_curve_file_is_named(tmp_path, content, message, capfd):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "curve.json").write_text(content)
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path / "run"), "-o", str(tmp_path / "x.png")])
    assert stop.value.code == 2
    last = capfd.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"error: {tmp_path / 'run' / 'curve.json'}: {message}")
