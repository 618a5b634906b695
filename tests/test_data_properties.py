"""Property test (issue 6, item 4): VOC and ImageFolder data with random corruptions either load with exactly the
valid samples and every skip reported, or stop with one DataError naming a broken file. Never a hang (loader
timeout) and never a bare worker traceback."""
import os
import re
import shutil
import tempfile

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yolox.data import ValTransform

from classification.data import load_data, make_loader, make_synthetic_folder
from tests.conftest import LogMessages
from yolox_mods.common import DataError, GuardedDataLoader
from yolox_mods.data import VOCDataset, detection_collate, scan_voc
from yolox_mods.data.synthetic import SYNTHETIC_CLASSES, make_synthetic_voc

NUM_IMAGES = 6
IMAGE_LEVEL = ("truncated_jpeg", "not_an_image", "broken_xml", "missing_image", "missing_xml")
OBJECT_LEVEL = ("box_outside", "box_inverted", "unknown_class")
HARMLESS = ("unicode_name",)
PROPERTY_SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

corruption_plans = st.lists(
    st.tuples(st.integers(0, NUM_IMAGES - 1), st.sampled_from(IMAGE_LEVEL + OBJECT_LEVEL + HARMLESS),
              st.floats(0.05, 0.8), st.binary(max_size=64)),
    max_size=4, unique_by=lambda plan: plan[0])


@pytest.fixture(scope="module")
def voc_template(tmp_path_factory):
    data_dir = make_synthetic_voc(str(tmp_path_factory.mktemp("voc_template")), num_trainval=NUM_IMAGES,
                                  num_test=0, image_size=64)
    objects = {r.image_id: len(r.labels) for r in scan_voc(data_dir, [("2007", "trainval")]).records}
    return data_dir, objects


def _replace_first(path, pattern, replacement):
    with open(path, encoding="utf-8") as file:
        text = file.read()
    with open(path, "w", encoding="utf-8") as file:
        file.write(re.sub(pattern, replacement, text, count=1))


def corrupt_voc(data_dir, plan):
    """Apply ``plan``; return {image id after renaming: (kind, file the problem must name)}."""
    root = os.path.join(data_dir, "VOC2007")
    list_file = os.path.join(root, "ImageSets", "Main", "trainval.txt")
    with open(list_file, encoding="utf-8") as lines:
        ids = lines.read().split()
    expected = {}
    for index, kind, fraction, junk in plan:
        image_id = ids[index]
        image = os.path.join(root, "JPEGImages", image_id + ".jpg")
        xml = os.path.join(root, "Annotations", image_id + ".xml")
        named = xml
        if kind == "truncated_jpeg":
            with open(image, "rb") as file:
                data = file.read()
            with open(image, "wb") as file:
                file.write(data[:int(len(data) * fraction)])
            named = image
        elif kind == "not_an_image":
            with open(image, "wb") as file:
                file.write(junk)
            named = image
        elif kind == "broken_xml":
            with open(xml, encoding="utf-8") as file:
                text = file.read()
            with open(xml, "w", encoding="utf-8") as file:
                file.write(text[:int(text.index("</annotation>") * fraction)])
        elif kind == "missing_image":
            os.remove(image)
            named = image
        elif kind == "missing_xml":
            os.remove(xml)
        elif kind == "box_outside":
            _replace_first(xml, r"<xmax>\d+</xmax>", "<xmax>500</xmax>")
        elif kind == "box_inverted":
            _replace_first(xml, r"<xmin>\d+</xmin>", "<xmin>63</xmin>")
            _replace_first(xml, r"<xmax>\d+</xmax>", "<xmax>2</xmax>")
        elif kind == "unknown_class":
            _replace_first(xml, r"<name>\w+</name>", "<name>unicorn</name>")
        elif kind == "unicode_name":
            new_id = f"фото_日本_{index}"
            os.rename(image, os.path.join(root, "JPEGImages", new_id + ".jpg"))
            os.rename(xml, os.path.join(root, "Annotations", new_id + ".xml"))
            ids[index] = image_id = new_id
            named = None
        expected[image_id] = (kind, named)
    with open(list_file, "w", encoding="utf-8") as lines:
        lines.write("\n".join(ids) + "\n")
    return ids, expected


@pytest.mark.slow
@PROPERTY_SETTINGS
@given(plan=corruption_plans)
def test_corrupted_voc_loads_only_valid_samples_or_names_the_file(voc_template, plan):
    template, objects = voc_template
    with tempfile.TemporaryDirectory() as work:
        data_dir = os.path.join(work, "VOCdevkit")
        shutil.copytree(template, data_dir)
        ids, expected = corrupt_voc(data_dir, plan)
        broken = {image_id: named for image_id, (kind, named) in expected.items() if kind not in HARMLESS}
        classes = tuple(SYNTHETIC_CLASSES)

        if broken:
            with pytest.raises(DataError) as error:
                VOCDataset(data_dir, img_size=(64, 64), strict=True, class_names=classes)
            for named in broken.values():
                assert named in str(error.value)
        else:
            assert len(VOCDataset(data_dir, img_size=(64, 64), strict=True, class_names=classes)) == NUM_IMAGES

        usable = [i for i in ids if expected.get(i, ("ok",))[0] not in IMAGE_LEVEL]
        if not usable:
            with pytest.raises(DataError, match="no usable images"):
                VOCDataset(data_dir, img_size=(64, 64), strict=False, class_names=classes)
            return
        dataset = VOCDataset(data_dir, img_size=(64, 64), preproc=ValTransform(), strict=False, class_names=classes)
        assert [r.image_id for r in dataset.records] == usable
        report = scan_voc(data_dir, [("2007", "trainval")], classes)
        assert len(report.problems) == len(broken)  # every skip reported, once
        for named in broken.values():
            assert sum(named in problem for problem in report.problems) == 1
        for record in dataset.records:
            original = objects[f"{ids.index(record.image_id):06d}"]  # the template's id at that position
            lost = 1 if expected.get(record.image_id, ("ok",))[0] in OBJECT_LEVEL else 0
            assert len(record.labels) == original - lost

        loader = GuardedDataLoader(dataset, sample_names=[r.image_path for r in dataset.records], batch_size=4,
                                   num_workers=2, collate_fn=detection_collate, timeout=60)
        seen = 0
        for images, _, _, _ in loader:
            assert images.shape[1:] == (3, 64, 64) and torch.isfinite(images).all()
            seen += images.shape[0]
        assert seen == len(usable)


image_plans = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 3),
              st.sampled_from(("truncated", "not_an_image", "unicode_name", "not_an_image_extension")),
              st.floats(0.05, 0.8), st.binary(max_size=64)),
    max_size=5, unique_by=lambda plan: plan[:2])


@pytest.fixture(scope="module")
def folder_template(tmp_path_factory):
    return make_synthetic_folder(str(tmp_path_factory.mktemp("folder_template")), classes=3, train_per_class=4,
                                 val_per_class=2, size=32)


def corrupt_folder(root, plan):
    """Apply ``plan`` to root/train; return the paths that must be reported and the number of valid images."""
    broken = []
    valid = 12
    for class_index, image_index, kind, fraction, junk in plan:
        path = os.path.join(root, "train", f"class_{class_index}", f"{image_index:04d}.jpg")
        if kind == "truncated":
            with open(path, "rb") as file:
                data = file.read()
            with open(path, "wb") as file:
                file.write(data[:int(len(data) * fraction)])
        elif kind == "not_an_image":
            with open(path, "wb") as file:
                file.write(junk)
        elif kind == "unicode_name":
            os.rename(path, os.path.join(os.path.dirname(path), f"ünïcødé_{image_index}.jpg"))
            continue
        else:  # a stray non-image file is not an image of the data set: ignored, not an error
            os.rename(path, path + ".txt")
            valid -= 1
            continue
        broken.append(path)
        valid -= 1
    return broken, valid


@pytest.mark.slow
@PROPERTY_SETTINGS
@given(plan=image_plans)
def test_corrupted_image_folder_loads_only_valid_images_or_names_the_file(folder_template, plan):
    with tempfile.TemporaryDirectory() as work:
        root = os.path.join(work, "data")
        shutil.copytree(folder_template, root)
        broken, valid = corrupt_folder(root, plan)
        lost = [sum(1 for c, _, kind, _, _ in plan if c == class_index and kind != "unicode_name")
                for class_index in range(3)]
        if 4 in lost:
            with pytest.raises(DataError, match=r"class_\d: class folder has no (readable )?images"):
                load_data(root, strict=False)
            return
        if broken:
            with pytest.raises(DataError) as error:
                load_data(root, strict=True)
            assert str(error.value).split(":")[0] in broken and "\n" not in str(error.value)
        logged = LogMessages()
        try:
            train, val, _ = load_data(root, strict=False)
        finally:
            logged.detach()
        assert len(train.labels) == valid and len(val.labels) == 6
        assert not set(broken) & set(train.paths)
        reported = "\n".join(logged)
        for path in broken:
            assert path in reported
        batches = [images for images, _ in make_loader(train, 32, 4, train=True, num_workers=2)]
        assert sum(len(images) for images in batches) == (valid // 4) * 4
        assert all(images.shape[1:] == (3, 32, 32) and torch.isfinite(images).all() for images in batches)
