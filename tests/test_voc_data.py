"""Bad VOC input is named (strict) or left out and counted (lenient), never crashes a worker."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from yolox_mods.common import DataError
from yolox_mods.data import VOCDataset, scan_voc
from yolox_mods.data.synthetic import annotation_xml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = (("2007", "trainval"),)


@pytest.fixture
def voc(synthetic_voc, tmp_path):
    """A private copy of the synthetic set that a test may break."""
    dest = tmp_path / "VOCdevkit"
    shutil.copytree(synthetic_voc, dest)
    return str(dest)


def paths(voc, image_id="000003"):
    root = os.path.join(voc, "VOC2007")
    return os.path.join(root, "JPEGImages", image_id + ".jpg"), os.path.join(root, "Annotations", image_id + ".xml")


def write_objects(xml_path, objects, width=128, height=96):
    with open(xml_path, "w") as f:
        f.write(annotation_xml("x", width, height, objects))


def corrupt_image(voc):
    open(paths(voc)[0], "wb").write(b"this is not a jpeg")


def truncate_image(voc):
    data = open(paths(voc)[0], "rb").read()
    open(paths(voc)[0], "wb").write(data[: len(data) // 2])


def remove_image(voc):
    os.remove(paths(voc)[0])


def break_xml(voc):
    open(paths(voc)[1], "w").write("<annotation><size>")


def remove_xml(voc):
    os.remove(paths(voc)[1])


@pytest.mark.parametrize("breaker,message", [
    (corrupt_image, "unreadable or corrupt image"),
    (truncate_image, "unreadable or corrupt image"),
    (remove_image, "image file not found"),
    (break_xml, "malformed annotation XML"),
    (remove_xml, "annotation file not found"),
])
def test_broken_image_or_xml(voc, breaker, message):
    breaker(voc)
    bad_file = paths(voc)[1] if "xml" in breaker.__name__ else paths(voc)[0]
    with pytest.raises(DataError, match=message) as error:
        VOCDataset(voc, TRAIN, (128, 128))
    assert bad_file in str(error.value)
    dataset = VOCDataset(voc, TRAIN, (128, 128), strict=False)
    assert len(dataset) == 23 and "000003" not in [i for _, i in dataset.ids]


def test_bad_objects_are_left_out_and_counted(voc):
    image, xml = paths(voc)
    height = scan_voc(voc, TRAIN).records[3].height
    write_objects(xml, [("person", (10, 10, 50, 50)), ("unicorn", (5, 5, 20, 20)),
                        ("car", (100, 10, 400, 50)), ("car", (30, 30, 30, 60)), ("bottle", (40, 40, 20, 60))],
                  height=height)
    report = scan_voc(voc, TRAIN)
    assert len(report.problems) == 4 and report.skipped_objects == 4 and report.skipped_images == 0
    assert any("unknown class 'unicorn'" in p for p in report.problems)
    assert any("outside" in p for p in report.problems)
    assert sum("inverted or of zero area" in p for p in report.problems) == 2
    assert all(xml in p for p in report.problems)
    record = report.records[3]
    np.testing.assert_array_equal(record.boxes, [[9, 9, 49, 49]])  # 1-based VOC -> 0-based


def test_empty_annotation_is_a_background_image(voc):
    image, xml = paths(voc)
    height = scan_voc(voc, TRAIN).records[3].height
    write_objects(xml, [], height=height)
    dataset = VOCDataset(voc, TRAIN, (128, 128))
    assert len(dataset) == 24 and dataset.annotations[3][0].shape == (0, 5)


def test_size_mismatch_named(voc):
    write_objects(paths(voc)[1], [("car", (1, 1, 20, 20))], width=999, height=999)
    with pytest.raises(DataError, match="<size> says 999x999"):
        VOCDataset(voc, TRAIN, (128, 128))


def test_missing_folder_and_image_set(tmp_path, voc):
    with pytest.raises(DataError, match="VOC data folder not found"):
        VOCDataset(str(tmp_path / "nowhere"), TRAIN)
    with pytest.raises(DataError, match="train.txt: image set file not found"):
        VOCDataset(voc, (("2007", "train"),))


def test_cache_gives_the_same_samples(voc):
    plain = VOCDataset(voc, TRAIN, (128, 128))
    cached = VOCDataset(voc, TRAIN, (128, 128), cache=True)
    for i in (0, 5):
        np.testing.assert_array_equal(plain.pull_item(i)[0], cached.pull_item(i)[0])
        np.testing.assert_array_equal(plain.pull_item(i)[1], cached.pull_item(i)[1])


def test_check_data_lists_every_problem(voc):
    corrupt_image(voc)
    write_objects(paths(voc, "000004")[1], [("unicorn", (1, 1, 5, 5))])
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "check_data.py"), voc],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "000003.jpg: unreadable or corrupt image" in result.stdout
    assert "000004.xml" in result.stdout and "2 problem(s)" in result.stdout


def test_train_cli_bad_data_dir_is_one_line(tmp_path):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "train.py"), "-f",
                             os.path.join(ROOT, "exps", "yolox_voc_nano.py"), "--device", "cpu",
                             "data_dir", str(tmp_path / "missing"), "output_dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"error: {tmp_path / 'missing'}: VOC data folder not found " \
                                                     "(expected VOCdevkit with VOC2007/...)"
    assert "Traceback" not in result.stderr
