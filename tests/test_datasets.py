"""datasets/ build scripts on small fake releases: the measured data's preprocessing, from folders and archives."""
import os
import subprocess
import sys
import tarfile
import zipfile

import numpy as np
import pytest
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASETS = os.path.join(ROOT, "datasets")

# VOC2007 000016 as released (334x500, one bicycle) and as it is in the copies the results were measured on
OFFICIAL_000016 = ((334, 500), (92, 72, 305, 473))
BUILT_000016 = ((278, 416), (77, 60, 254, 394))


def official_voc(root, images):
    """A VOC2007 release folder: {id: ((width, height), box, difficult)}."""
    for sub in ("JPEGImages", "Annotations"):
        os.makedirs(os.path.join(root, "VOC2007", sub), exist_ok=True)
    for image_id, ((width, height), box, difficult) in images.items():
        pixels = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(os.path.join(root, "VOC2007", "JPEGImages", image_id + ".jpg"))
        with open(os.path.join(root, "VOC2007", "Annotations", image_id + ".xml"), "w") as file:
            file.write(f"<annotation><size><width>{width}</width><height>{height}</height><depth>3</depth></size>"
                       f"<object><name>bicycle</name><pose>Left</pose><truncated>0</truncated>"
                       f"<difficult>{difficult}</difficult><bndbox><xmin>{box[0]}</xmin><ymin>{box[1]}</ymin>"
                       f"<xmax>{box[2]}</xmax><ymax>{box[3]}</ymax></bndbox></object></annotation>")
    return os.path.join(root, "VOC2007")


def write_lists(folder, lists):
    os.makedirs(folder, exist_ok=True)
    for name, ids in lists.items():
        with open(os.path.join(folder, name + ".txt"), "w") as file:
            file.write("\n".join(ids) + "\n")
    return str(folder)


def run(script, *args):
    return subprocess.run([sys.executable, os.path.join(DATASETS, script), *args], capture_output=True, text=True,
                          timeout=120)


def read_box(xml_path):
    import xml.etree.ElementTree as ET

    root = ET.parse(xml_path).getroot()
    box = root.find("object/bndbox")
    size = root.find("size")
    return ((int(size.findtext("width")), int(size.findtext("height"))),
            tuple(int(box.findtext(t)) for t in ("xmin", "ymin", "xmax", "ymax")), root.findtext("object/difficult"))


@pytest.mark.parametrize("as_tar", [False, True])
def test_quick_voc_from_the_official_release(tmp_path, as_tar):
    voc = official_voc(str(tmp_path / "release" / "VOCdevkit"),
                       {"000016": (*OFFICIAL_000016, 1), "000017": ((400, 300), (1, 1, 400, 300), 0)})
    source = voc
    if as_tar:
        source = str(tmp_path / "VOCtrainval.tar")
        with tarfile.open(source, "w") as tar:
            tar.add(str(tmp_path / "release" / "VOCdevkit"), arcname="VOCdevkit")
    lists = write_lists(tmp_path / "lists", {"voc_mini_trainval": ["000016"], "voc_extra_trainval": ["000017"],
                                              "voc_mini_test": ["000016"], "voc_test_test": ["000017"]})
    result = run("build_quick_voc.py", "--voc2007", source, "--dest", str(tmp_path / "out"), "--lists", lists)
    assert result.returncode == 0, result.stderr
    assert "trainval: 2 images, 2 objects" in result.stdout and "test: 1 images, 1 objects" in result.stdout
    built = tmp_path / "out" / "VOCdevkit" / "VOC2007"
    size, box, difficult = read_box(built / "Annotations" / "000016.xml")
    assert (size, box, difficult) == (*BUILT_000016, "0")
    with Image.open(built / "JPEGImages" / "000016.jpg") as image:
        assert image.size == BUILT_000016[0]
    assert read_box(built / "Annotations" / "000017.xml")[:2] == ((400, 300), (1, 1, 400, 300))  # not upscaled
    assert (built / "ImageSets" / "Main" / "val.txt").read_text().split() == ["000016"]


def test_quick_voc_names_a_missing_image(tmp_path):
    voc = official_voc(str(tmp_path / "VOCdevkit"), {"000016": (*OFFICIAL_000016, 0)})
    lists = write_lists(tmp_path / "lists", {"voc_mini_trainval": ["000016", "000099"], "voc_extra_trainval": [],
                                              "voc_mini_test": [], "voc_test_test": []})
    result = run("build_quick_voc.py", "--voc2007", voc, "--dest", str(tmp_path / "out"), "--lists", lists)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"error: {voc}/JPEGImages/000099.jpg: missing"


def test_quick_voc_links_a_built_copy(tmp_path):
    voc = official_voc(str(tmp_path / "mini" / "VOCdevkit"), {"000016": (*BUILT_000016, 0)})
    lists = write_lists(tmp_path / "lists", {"voc_mini_trainval": ["000016"], "voc_extra_trainval": [],
                                              "voc_mini_test": [], "voc_test_test": []})
    result = run("build_quick_voc.py", "--built", str(tmp_path / "mini"), "--dest", str(tmp_path / "out"),
                 "--lists", lists)
    assert result.returncode == 0, result.stderr
    linked = tmp_path / "out" / "VOCdevkit" / "VOC2007" / "JPEGImages" / "000016.jpg"
    assert os.path.realpath(linked) == os.path.join(voc, "JPEGImages", "000016.jpg")


@pytest.mark.parametrize("as_zip", [False, True])
def test_recycle_from_trashnet(tmp_path, as_zip):
    release = tmp_path / "dataset-resized"
    for name, size in (("glass/glass1.jpg", (512, 384)), ("trash/trash2.jpg", (384, 512)),
                       ("paper/paper3.jpg", (400, 400))):
        os.makedirs(release / os.path.dirname(name), exist_ok=True)
        Image.new("RGB", size, (120, 30, 200)).save(release / name)
    source = str(release)
    if as_zip:
        source = str(tmp_path / "dataset-resized.zip")
        with zipfile.ZipFile(source, "w") as archive:
            for name in ("glass/glass1.jpg", "trash/trash2.jpg", "paper/paper3.jpg"):
                archive.write(release / name, f"dataset-resized/{name}")
    lists = write_lists(tmp_path / "lists", {"recycle_train": ["glass/glass1.jpg"], "recycle_val": ["trash/trash2.jpg"],
                                              "recycle_test": ["paper/paper3.jpg"]})
    result = run("build_recycle.py", "--trashnet", source, "--dest", str(tmp_path / "out"), "--lists", lists)
    assert result.returncode == 0, result.stderr
    assert "train: 1 images (glass 1)" in result.stdout and "val: 1 images (trash 1)" in result.stdout
    assert "test: 1 images (paper 1)" in result.stdout
    with Image.open(tmp_path / "out" / "train" / "glass" / "glass1.jpg") as image:
        assert image.size == (128, 96)
    with Image.open(tmp_path / "out" / "val" / "trash" / "trash2.jpg") as image:
        assert image.size == (96, 128)


def test_committed_lists_are_disjoint_and_complete():
    lists = os.path.join(DATASETS, "lists")
    voc = {name: set(open(os.path.join(lists, name + ".txt")).read().split())
           for name in ("voc_mini_trainval", "voc_extra_trainval", "voc_mini_test", "voc_test_test")}
    assert {k: len(v) for k, v in voc.items()} == {"voc_mini_trainval": 900, "voc_extra_trainval": 1250,
                                                    "voc_mini_test": 300, "voc_test_test": 2000}
    assert len(set.union(*voc.values())) == 4450
    recycle = [set(open(os.path.join(lists, f"recycle_{s}.txt")).read().split()) for s in ("train", "val", "test")]
    assert [len(split) for split in recycle] == [1633, 205, 204] and len(set.union(*recycle)) == 2042


def test_recycle_links_a_copy_built_before_the_test_split(tmp_path):
    """A copy with train/ and val/ only (the test images still under val/) is linked into three splits."""
    old = tmp_path / "old"
    for name in ("train/glass/glass1.jpg", "val/trash/trash2.jpg", "val/paper/paper3.jpg"):
        os.makedirs(old / os.path.dirname(name), exist_ok=True)
        Image.new("RGB", (96, 96)).save(old / name)
    lists = write_lists(tmp_path / "lists", {"recycle_train": ["glass/glass1.jpg"], "recycle_val": ["trash/trash2.jpg"],
                                              "recycle_test": ["paper/paper3.jpg"]})
    result = run("build_recycle.py", "--built", str(old), "--dest", str(tmp_path / "out"), "--lists", lists)
    assert result.returncode == 0, result.stderr
    assert os.path.realpath(tmp_path / "out" / "test" / "paper" / "paper3.jpg") == str(old / "val" / "paper" /
                                                                                       "paper3.jpg")
