"""NW-UCLA, JHMDB, Penn Action, SBU and UTKinect: counts against their MANIFESTs, protocols,
layouts, which side is left on real frames, UTKinect's resampling, dataset-defined protocols
and malformed files (generated here)."""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from actscope.datasets import (
    ItemRecord,
    SkeletonDataset,
    cross_view,
    known_protocols,
    load_jhmdb,
    load_nw_ucla,
    load_penn_action,
    load_sbu,
    load_utkinect,
    load_utkinect_recordings,
    protocol_split,
    read_nw_ucla_skeleton,
    read_penn_action,
    read_sbu_skeleton,
    read_utkinect_raw,
    read_utkinect_recording,
)
from actscope.datasets.catalog import dataset_names, split
from actscope.datasets.penn_action import OCCLUDED_SCORE
from actscope.datasets.utkinect import resample
from actscope.errors import ConfigError, DatasetError
from actscope.pose import Skeleton, to_body15
from actscope.pose.convert import canonical_coords
from actscope.pose.layouts import BODY15, KINECT_V1_20, get_layout
from realdata import shared_path

J = {name: i for i, name in enumerate(BODY15.joints)}


@pytest.fixture(scope="module")
def nw_ucla():
    return load_nw_ucla(shared_path("nw_ucla"))


@pytest.fixture(scope="module")
def jhmdb():
    return load_jhmdb(shared_path("jhmdb"))


@pytest.fixture(scope="module")
def penn():
    return load_penn_action(shared_path("penn_action"))


@pytest.fixture(scope="module")
def sbu():
    return load_sbu(shared_path("sbu_interaction"))


@pytest.fixture(scope="module")
def utkinect():
    return load_utkinect(shared_path("utkinect_dev"))


def sizes(dataset, protocol: str = "") -> tuple[int, int]:
    train, test = split(dataset, protocol)
    return len(train), len(test)


def moved(track: np.ndarray) -> float:
    """Path length of a ``(T, C)`` track, over its present points."""
    track = track[~np.isnan(track[:, 0])]
    return float(np.linalg.norm(np.diff(track, axis=0), axis=-1).sum())


def feet_forward(skeleton: Skeleton) -> np.ndarray:
    """Per frame of a ``kinect_v1_20`` skeleton: does (left - right) x up point where the feet
    do? True in a right-handed frame whose left and right are the person's own."""
    x = canonical_coords(skeleton)[0]
    k = {name: i for i, name in enumerate(KINECT_V1_20.joints)}
    across = x[:, k["left_shoulder"]] - x[:, k["right_shoulder"]]
    across += x[:, k["left_hip"]] - x[:, k["right_hip"]]
    up = x[:, k["shoulder_center"]] - x[:, k["hip_center"]]
    toes = x[:, k["left_foot"]] - x[:, k["left_ankle"]] + x[:, k["right_foot"]]
    toes -= x[:, k["right_ankle"]]
    return np.einsum("tc,tc->t", np.cross(across, up), toes) > 0


# --- NW-UCLA -----------------------------------------------------------------------------


@pytest.mark.real_data
def test_nw_ucla_counts_views_and_cross_view(nw_ucla):
    assert len(nw_ucla) == 1484 and len(nw_ucla.class_names) == 10
    assert set(nw_ucla.labels.tolist()) == set(range(10))
    assert set(nw_ucla.subjects.tolist()) == set(range(1, 11))
    assert Counter(r.camera for r in nw_ucla.records) == {1: 516, 2: 504, 3: 464}
    assert nw_ucla.default_protocol == "cross-view"
    train, test = split(nw_ucla, "")
    assert (len(train), len(test)) == (516 + 504, 464)
    assert {r.camera for r in test.records} == {3}
    assert split(nw_ucla, "cross-view")[1].records == test.records


@pytest.mark.real_data
def test_nw_ucla_files_read_as_kinect_world_skeletons(nw_ucla):
    frames = []
    for item in nw_ucla:  # the reader also checks each file's label against its name
        s = item.skeleton
        assert (s.layout, s.space, s.channels, s.num_people) == ("kinect_v1_20", "world", 3, 1)
        frames.append(s.num_frames)
        depth = np.nanmedian(s.coords[0, :, :, 2])
        assert 1.0 < depth < 5.0, item.path.name  # metres from the sensor
    assert 38 < np.mean(frames) < 41  # MANIFEST: mean about 39
    # the zeros in a04_s01_e01_v01 are missing joints, not points at the sensor
    zeros = nw_ucla[[r.path.name for r in nw_ucla.records].index("a04_s01_e01_v01.json")]
    assert np.isnan(zeros.skeleton.coords).any()
    assert (zeros.skeleton.scores[np.isnan(zeros.skeleton.coords[..., 0])] == 0).all()


@pytest.mark.real_data
def test_nw_ucla_and_utkinect_left_is_left_feet_point_forward(nw_ucla):
    share = [feet_forward(item.skeleton).mean() for item in nw_ucla if item.skeleton.num_frames]
    assert np.mean(share) > 0.9
    for path in sorted(shared_path("utkinect_dev", "joints").glob("*.txt")):
        skeleton = read_utkinect_recording(path)
        present = ~np.isnan(skeleton.coords[0, :, 0, 0])
        assert feet_forward(skeleton)[present].mean() > 0.8, path.name


# --- JHMDB -------------------------------------------------------------------------------


@pytest.mark.real_data
def test_jhmdb_counts_and_the_three_official_splits(jhmdb):
    assert len(jhmdb) == 609 and len(jhmdb.class_names) == 14
    assert jhmdb.protocols == ("split1", "split2", "split3")
    assert jhmdb.default_protocol == "split1"
    assert sizes(jhmdb) == sizes(jhmdb, "split1") == (433, 176)  # MANIFEST, split 1
    for k in (1, 2, 3):  # each split file's clips are its training items
        folder = shared_path("jhmdb")
        expected = len(json.loads((folder / f"split{k}_train.json").read_text())["clips"])
        assert sizes(jhmdb, f"split{k}") == (expected, 609 - expected)


@pytest.mark.real_data
def test_jhmdb_splits_match_the_official_lists(jhmdb):
    """Per class, how many clips train in which splits is what splits.zip says."""
    listed: dict[str, dict[str, list[bool]]] = {}  # class -> video -> trains in split k
    with zipfile.ZipFile(shared_path("jhmdb", "splits.zip")) as archive:
        for name in archive.namelist():
            if not name.endswith(".txt"):
                continue
            label, k = Path(name).stem.rsplit("_test_split", 1)
            for line in archive.read(name).decode().split("\n"):
                if line.strip():
                    video, role = line.split()
                    roles = listed.setdefault(label, {}).setdefault(video, [False] * 3)
                    roles[int(k) - 1] = int(role) == 1
    for index, label in enumerate(jhmdb.class_names):
        official = Counter(tuple(roles) for roles in listed[label].values())
        ours = Counter(
            tuple(f"split{k}" in r.train_in for k in (1, 2, 3))
            for r in jhmdb.records
            if r.label == index
        )
        assert ours == official, label


@pytest.mark.real_data
def test_jhmdb_items_are_2d_image_joints_with_the_sides_right(jhmdb):
    item = jhmdb[0]
    s = item.skeleton
    assert (s.layout, s.space, s.num_people, s.num_joints, s.channels) == (
        "jhmdb15",
        "image",
        1,
        15,
        2,
    )
    assert s.image_size is None  # normalised coordinates, not pixels
    frames = [i.skeleton.num_frames for i in jhmdb]
    assert (min(frames), max(frames)) == (15, 40)  # MANIFEST
    # facing the camera (clap, wave, stand), the left shoulder is on the image's right
    for action in ("clap", "wave", "stand"):
        label = jhmdb.class_names.index(action)
        body = [to_body15(i.skeleton).coords[0] for i in jhmdb if i.label == label]
        right_of = np.concatenate(
            [b[:, J["left_shoulder"], 0] > b[:, J["right_shoulder"], 0] for b in body]
        )
        assert right_of.mean() > 0.9, action
        head_up = np.concatenate([b[:, J["head"], 1] > b[:, J["pelvis"], 1] for b in body])
        assert head_up.mean() > 0.95  # body15 image skeletons have y up


# --- Penn Action -------------------------------------------------------------------------


@pytest.mark.real_data
def test_penn_action_counts_and_official_split(penn):
    assert len(penn) == 2326 and len(penn.class_names) == 15
    counts = Counter(penn.class_names[label] for label in penn.labels.tolist())
    assert counts["squat"] == 231 and counts["jump_rope"] == 82 and counts["bowl"] == 220
    assert known_protocols(penn) == ["official"]
    assert sizes(penn) == sizes(penn, "official") == (1258, 1068)


@pytest.mark.real_data
def test_penn_action_pixels_visibility_and_image_size(penn):
    import scipy.io

    item = penn[0]
    raw = scipy.io.loadmat(item.path)
    s = item.skeleton
    height, width, frames = raw["dimensions"].ravel()
    assert (s.layout, s.space, s.image_size, s.num_frames) == (
        "penn13",
        "image",
        (width, height),
        frames,
    )
    invisible = raw["visibility"] == 0
    assert invisible.any()
    flip = list(get_layout("penn13").flip_permutation)
    coords, scores = s.coords[0][:, flip], s.scores[0][:, flip]
    parked = invisible & (raw["x"] <= 2) & (raw["y"] <= 2)  # the files' placeholders
    placed = invisible & ~parked & (raw["x"] < width) & (raw["y"] < height)
    assert np.isnan(coords[parked]).all() and (scores[parked] == 0).all()
    # an occluded joint its annotator placed keeps that place, with a lower score
    assert np.allclose(coords[placed][:, 0], raw["x"][placed])
    assert (scores[placed] == OCCLUDED_SCORE).all() and OCCLUDED_SCORE < 1
    visible = ~invisible
    assert np.allclose(coords[visible][:, 0], raw["x"][visible]) and (scores[visible] == 1).all()
    # 1920.mat has no visible hip or shoulder (MANIFEST): none is scored as seen
    bare = read_penn_action(shared_path("penn_action", "labels", "1920.mat"))
    for joint in ("left_hip", "right_hip", "left_shoulder", "right_shoulder"):
        assert (bare.scores[0, :, bare.get_layout().index(joint)] < 1).all()


@pytest.mark.real_data
def test_penn_action_sides_are_swapped_back(penn):
    """The files call the person's right side 'left': in front views the labelled left
    shoulder is on the image's left, and the labelled left hand strums the guitar. Read
    (anatomically), both come out as for every other dataset."""
    front = [i for i, r in enumerate(penn.records) if r.camera == 1]
    assert len(front) == 612  # "front" views
    left_on_right = []
    for i in front:
        b = to_body15(penn[i].skeleton).coords[0]
        ok = ~np.isnan(b[:, J["left_shoulder"], 0] + b[:, J["right_shoulder"], 0])
        left_on_right.append(b[ok, J["left_shoulder"], 0] > b[ok, J["right_shoulder"], 0])
    assert np.concatenate(left_on_right).mean() > 0.9  # over all their frames
    strum = penn.class_names.index("strum_guitar")
    items = [penn[i] for i, r in enumerate(penn.records) if r.label == strum]
    right = 0
    for item in items:
        b = to_body15(item.skeleton).coords[0]
        rel = {s: b[:, J[f"{s}_wrist"]] - b[:, J[f"{s}_shoulder"]] for s in ("left", "right")}
        right += moved(rel["right"]) > moved(rel["left"])
    assert right > 0.85 * len(items)
    as_stored = read_penn_action(items[0].path, anatomical=False)
    assert np.array_equal(
        as_stored.coords[0, :, 1], items[0].skeleton.coords[0, :, 2], equal_nan=True
    )


# --- SBU ---------------------------------------------------------------------------------


@pytest.mark.real_data
def test_sbu_counts_and_folds(sbu):
    folder = shared_path("sbu_interaction")
    assert len(sbu) == 282 and len(sbu.class_names) == 8
    assert len(set(sbu.subjects.tolist())) == 21  # sets (subject pairs)
    assert sbu.default_protocol == "fold1"
    readme_folds = [  # the dataset's README, "Details"
        ["s01s02", "s03s04", "s05s02", "s06s04"],
        ["s02s03", "s02s07", "s03s05", "s05s03"],
        ["s01s03", "s01s07", "s07s01", "s07s03"],
        ["s02s01", "s02s06", "s03s02", "s03s06"],
        ["s04s02", "s04s03", "s04s06", "s06s02", "s06s03"],
    ]
    tested = Counter()
    for k, sets in enumerate(readme_folds, 1):
        expected = sum(len(list((folder / s).glob("*/*/skeleton_pos.txt"))) for s in sets)
        train, test = split(sbu, f"fold{k}")
        assert (len(train), len(test)) == (282 - expected, expected)
        assert {p.parts[-4] for p in (r.path for r in test.records)} == set(sets)
        tested.update(r.path for r in test.records)
    assert set(tested.values()) == {1}  # each sequence is tested in exactly one fold


@pytest.mark.real_data
def test_sbu_two_people_in_metres_shaking_right_hands(sbu):
    item = sbu[0]
    s = item.skeleton
    assert (s.layout, s.space, s.num_people, s.num_joints, s.channels) == (
        "openni15",
        "world",
        2,
        15,
        3,
    )
    heads, depth = [], []
    for item in sbu:
        b = to_body15(item.skeleton).coords
        heads.append(np.nanmedian(b[:, :, J["head"], 1] - b[:, :, J["left_ankle"], 1]))
        depth.append(np.nanmedian(item.skeleton.coords[..., 2]))
    assert 1.2 < np.median(heads) < 1.7  # head above ankle, metres
    assert 1.5 < np.median(depth) < 4.0  # metres from the sensor
    label = sbu.class_names.index("shaking hands")
    closest = Counter()
    for item in (i for i in sbu if i.label == label):
        b = to_body15(item.skeleton).coords
        gaps = {
            (a, c): np.nanmin(np.linalg.norm(b[0, :, J[a]] - b[1, :, J[c]], axis=-1))
            for a in ("left_wrist", "right_wrist")
            for c in ("left_wrist", "right_wrist")
        }
        closest[min(gaps, key=gaps.get)] += 1
    assert closest[("right_wrist", "right_wrist")] > 0.75 * sum(closest.values())


@pytest.mark.real_data
def test_sbu_class_folders_hold_what_their_names_say(sbu):
    """Kicking raises a foot; in hugging the bodies meet; in approaching they close in."""

    def median(label: str, measure) -> float:
        index = sbu.class_names.index(label)
        return float(
            np.median([measure(to_body15(i.skeleton).coords) for i in sbu if i.label == index])
        )

    def foot_rise(b):
        ankles = b[:, :, [J["left_ankle"], J["right_ankle"]], 1]
        return np.nanmax(ankles - ankles[:, :1])

    def closest_bodies(b):
        return np.nanmin(np.linalg.norm(b[0, :, J["pelvis"]] - b[1, :, J["pelvis"]], axis=-1))

    def closing(b):
        gap = np.linalg.norm(b[0, :, J["pelvis"]] - b[1, :, J["pelvis"]], axis=-1)
        return gap[-1] - gap[0]

    others = [c for c in sbu.class_names if c != "kicking"]
    assert median("kicking", foot_rise) > 1.5 * max(median(c, foot_rise) for c in others)
    assert median("hugging", closest_bodies) < min(
        median(c, closest_bodies) for c in sbu.class_names if c != "hugging"
    )
    assert median("approaching", closing) < -0.4 < 0.4 < median("departing", closing)


# --- UTKinect ----------------------------------------------------------------------------


@pytest.mark.real_data
def test_utkinect_segments_subjects_and_leave_one_subject_out(utkinect):
    assert len(utkinect) == 100 and len(utkinect.class_names) == 10
    assert Counter(utkinect.labels.tolist()) == {label: 10 for label in range(10)}
    assert sorted(set(utkinect.subjects.tolist())) == [1, 3, 5, 7, 9]
    assert utkinect.protocols == ("loso-s1", "loso-s3", "loso-s5", "loso-s7", "loso-s9")
    for subject in (1, 3, 5, 7, 9):
        train, test = split(utkinect, f"loso-s{subject}")
        assert (len(train), len(test)) == (80, 20)
        assert set(test.subjects.tolist()) == {subject}
    assert sizes(utkinect) == sizes(utkinect, "loso-s1")
    assert sizes(utkinect, "subjects=1,3,5,7") == (80, 20)


@pytest.mark.real_data
def test_utkinect_trimmed_items_span_their_segment(utkinect):
    raws = {}
    for item in utkinect:
        name, ids = item.path.name.split("#")
        start, end = (int(v) for v in ids.split("-"))
        s = item.skeleton
        assert (s.layout, s.space, s.fps) == ("kinect_v1_20", "world", 7.5)
        raw = raws.setdefault(name, read_utkinect_raw(item.path.parent / name))
        # exactly the recorded frames with ids from start to end, at their own times
        inside = (raw.frame_ids >= start) & (raw.frame_ids <= end)
        assert s.num_frames == inside.sum(), item.path.name
        np.testing.assert_allclose(s.times, raw.times[inside])
        np.testing.assert_array_equal(s.coords[0], raw.coords[inside])


@pytest.mark.real_data
def test_utkinect_recordings_keep_true_segment_times():
    folder = shared_path("utkinect_dev")
    recordings = load_utkinect_recordings(folder)
    assert len(recordings) == 10
    rows = [line.split("\t") for line in (folder / "labels.tsv").read_text().splitlines()[1:]]
    for recording in recordings:
        raw = read_utkinect_raw(folder / "joints" / f"{recording.name}.txt")
        assert np.array_equal(recording.frame_ids, raw.frame_ids)
        assert recording.time_offset == raw.frame_ids[0] / 30
        mine = [r for r in rows if r[0] == f"joints/{recording.name}.txt"]
        assert len(recording.segments) == len(mine) == 10
        expected = sorted((int(r[4]) / 30, int(r[5]) / 30) for r in mine)
        expected = [t for pair in expected for t in pair]
        offset = recording.time_offset
        found = [t + offset for s in recording.segments for t in (s.start, s.end)]
        assert found == pytest.approx(expected, abs=1e-9)
        # the recorded frames at their own times: first to last, plus one nominal period
        assert recording.skeleton.num_frames == len(raw.frame_ids)
        np.testing.assert_allclose(
            recording.skeleton.times, (raw.frame_ids - raw.frame_ids[0]) / 30
        )
        duration = (raw.frame_ids[-1] - raw.frame_ids[0]) / 30
        assert recording.duration == pytest.approx(duration + 1 / 7.5)
        assert recording.skeleton.fps == 7.5
    # repeated ids keep their first line; s09_e01 repeats 145 of 1389
    raw = read_utkinect_raw(folder / "joints" / "joints_s09_e01.txt")
    lines = (folder / "joints" / "joints_s09_e01.txt").read_text().split("\n")
    ids = [int(line.split()[0]) for line in lines if line.strip()]
    assert len(ids) - len(raw.frame_ids) == 145 and len(set(ids)) == len(raw.frame_ids)
    first = np.array(lines[0].split()[1:], np.float32).reshape(20, 3)
    assert np.allclose(raw.coords[0], first)


def write_utkinect_joints(path: Path, ids: list[int], values: list[float]) -> None:
    """A joints file whose frame with id ``ids[i]`` has every coordinate ``values[i]``."""
    path.write_text(
        "\n".join(f"{i}  " + "  ".join([f"{v:.4f}"] * 60) for i, v in zip(ids, values, strict=True))
    )


def test_utkinect_resampling_interpolates_short_gaps_and_leaves_holes(tmp_path):
    # ids (30 Hz): 0, 4, 8, 8 again (dropped), 14, 100 (a 2.9 s hole), 104
    path = tmp_path / "joints_s01_e01.txt"
    write_utkinect_joints(path, [0, 4, 8, 8, 14, 100, 104], [0.0, 1.0, 2.0, 9.0, 3.5, 7.0, 8.0])
    raw = read_utkinect_raw(path)
    assert raw.frame_ids.tolist() == [0, 4, 8, 14, 100, 104]
    coords, scores = resample(raw, fps=7.5, max_gap=0.5)
    # grid every 4 ids: 0, 4, 8, 12 (between 8 and 14: 2/6 of the way), 16 ... 96 (hole), 100, 104
    assert len(coords) == 27
    values = coords[:, 0, 0]
    assert values[:3].tolist() == [0.0, 1.0, 2.0]  # on recorded frames: the recorded values
    assert values[3] == pytest.approx(2.0 + (3.5 - 2.0) * 4 / 6)  # 12 = 8 + 4/6 of 8->14
    assert np.isnan(values[4:25]).all() and (scores[4:25] == 0).all()  # 16-96: inside the hole
    assert values[25:].tolist() == [7.0, 8.0] and (scores[25:] == 1).all()


def test_utkinect_labels_and_joints_errors_are_one_line(tmp_path):
    (tmp_path / "joints").mkdir()
    write_utkinect_joints(tmp_path / "joints" / "joints_s01_e01.txt", [0, 4, 8, 12], [0, 1, 2, 3])
    header = "joints_file\taction\tsubject\texecution\tstart_frame\tend_frame\tnote\n"
    labels = tmp_path / "labels.tsv"

    def fails(text: str, *needles: str) -> None:
        labels.write_text(header + text)
        with pytest.raises(DatasetError) as error:
            list(load_utkinect(tmp_path))
        assert "\n" not in str(error.value) and all(n in str(error.value) for n in needles)

    fails("joints/joints_s01_e01.txt\tjump\t1\t1\t0\t8\t\n", "labels.tsv:2", "'jump'")
    fails("joints/joints_s01_e01.txt\twalk\t1\t1\t8\t0\t\n", "labels.tsv:2", "starts after")
    fails("joints/joints_s01_e01.txt\twalk\t1\n", "labels.tsv:2", "found 3")
    fails("joints/joints_s02_e01.txt\twalk\t2\t1\t0\t8\t\n", "joints_s02_e01.txt", "missing")
    labels.write_text(
        header
        + "joints/joints_s01_e01.txt\twalk\t1\t1\t0\t8\t\n"
        + "joints/joints_s01_e01.txt\tthrow\t1\t1\tNaN\tNaN\tnot performed\n"
    )
    dataset = load_utkinect(tmp_path)  # the row without boundaries is skipped
    assert len(dataset) == 1 and dataset[0].skeleton.num_frames == 3  # ids 0, 4, 8
    assert dataset[0].skeleton.times.tolist() == pytest.approx([0, 4 / 30, 8 / 30])
    (tmp_path / "joints" / "joints_s01_e01.txt").write_text("0 1 2 3\n")
    with pytest.raises(DatasetError, match=r"joints_s01_e01.txt:1: expected 61 values"):
        read_utkinect_raw(tmp_path / "joints" / "joints_s01_e01.txt")
    labels.write_text("file\tlabel\n")
    with pytest.raises(DatasetError, match="header"):
        load_utkinect(tmp_path)


# --- the protocol mechanism and the catalog ----------------------------------------------


def toy_dataset(**options) -> SkeletonDataset:
    skeleton = Skeleton(np.zeros((1, 2, 15, 2)), np.ones((1, 2, 15)), "body15", 10.0, "image")
    records = [
        ItemRecord(Path("a"), 0, 1, 1, camera=1, train_in=frozenset({"mine"})),
        ItemRecord(Path("b"), 1, 2, 1, camera=2, train_in=frozenset({"mine", "theirs"})),
        ItemRecord(Path("c"), 1, 3, 1, camera=3),
    ]
    return SkeletonDataset("toy", records, ["x", "y"], lambda path: skeleton, **options)


def test_dataset_defined_protocols_split_by_their_records():
    toy = toy_dataset(protocols=("mine", "theirs"), default_protocol="theirs", train_subjects=(1,))
    assert [r.path.name for r in split(toy, "mine")[0].records] == ["a", "b"]
    assert [r.path.name for r in split(toy, "")[0].records] == ["b"]  # the default
    assert [r.path.name for r in split(toy, "cross-subject")[0].records] == ["a"]
    train, test = protocol_split(toy.subset([0, 2]), "mine")  # subsets keep the protocols
    assert (len(train), len(test)) == (1, 1)
    assert known_protocols(toy) == ["theirs", "mine", "cross-subject", "subjects=1,3,5"]


def test_unknown_protocol_is_a_one_line_config_error_naming_the_known_ones():
    toy = toy_dataset(protocols=("mine", "theirs"), default_protocol="mine")
    with pytest.raises(ConfigError) as error:
        split(toy, "fold9")
    message = str(error.value)
    assert "\n" not in message and "'fold9'" in message and "mine, theirs" in message
    with pytest.raises(ConfigError, match=r"'cross-subject' for toy; known: mine, theirs, subj"):
        split(toy, "cross-subject")  # no standard training subjects: not one of its protocols
    with pytest.raises(DatasetError, match="not defined by toy"):
        toy_dataset(protocols=("mine",))  # a record names "theirs"


def test_cross_view_takes_the_dataset_s_own_training_cameras():
    toy = toy_dataset(protocols=("mine", "theirs"), train_cameras=(1, 2))
    train, test = cross_view(toy)
    assert [r.camera for r in train.records] == [1, 2] and [r.camera for r in test.records] == [3]
    assert [r.camera for r in cross_view(toy, [3])[0].records] == [3]
    with pytest.raises(DatasetError, match="no standard training cameras"):
        cross_view(toy_dataset(protocols=("mine", "theirs")))


def test_new_datasets_are_in_the_catalog():
    assert {"nw-ucla", "jhmdb", "penn-action", "sbu", "utkinect"} <= set(dataset_names())


@pytest.mark.real_data
def test_sbu_trains_with_both_people():
    from actscope.datasets.catalog import training_data
    from actscope.engine.config import DataConfig

    root = str(shared_path("sbu_interaction"))
    data = training_data(DataConfig(name="sbu", root=root, options={"persons": 2}), "tcn")
    x, _ = data.train[0]
    assert x.shape[-1] == 2 and x.shape[-2] == 15  # (C, T, 15 joints, 2 people)
    assert (x[..., 1] != 0).any()  # the second person is there
    assert (len(data.train), len(data.test)) == sizes(load_sbu(shared_path("sbu_interaction")))


# --- malformed files ---------------------------------------------------------------------


def one_line_error(call, *needles: str) -> str:
    with pytest.raises(DatasetError) as error:
        call()
    message = str(error.value)
    assert "\n" not in message, message
    for needle in needles:
        assert needle in message, message
    return message


def test_nw_ucla_malformed_files(tmp_path):
    path = tmp_path / "a01_s01_e00_v01.json"
    path.write_text("{not json")
    one_line_error(lambda: read_nw_ucla_skeleton(path), "not readable JSON")
    path.write_text(json.dumps({"skeletons": [[[0, 0, 1]] * 19], "label": 1}))
    one_line_error(lambda: read_nw_ucla_skeleton(path), "(1, 19, 3)", "20 joints")
    path.write_text(json.dumps({"skeletons": [[[0.1, 0.2, 3.0]] * 20], "label": 4}))
    one_line_error(lambda: read_nw_ucla_skeleton(path), "label 4 disagrees")
    (tmp_path / "a07_s01_e00_v01.json").write_text("{}")
    one_line_error(lambda: load_nw_ucla(tmp_path), "a07", "none of NW-UCLA")
    one_line_error(lambda: load_nw_ucla(tmp_path / "absent"), "no such folder")


def write_jhmdb(folder: Path, clips_of: dict[str, list[dict]], joints: list[str] | None = None):
    names = joints or list(get_layout("jhmdb15").joints)
    for k in (1, 2, 3):
        for part in ("train", "test"):
            clips = clips_of.get(f"split{k}_{part}", [])
            (folder / f"split{k}_{part}.json").write_text(
                json.dumps({"joints": names, "clips": clips})
            )


def test_jhmdb_generated_splits_and_malformed_files(tmp_path):
    a = {"label": "wave", "pose": [[[0.1 * j, 0.2] for j in range(15)]] * 3}
    b = {"label": "run", "pose": [[[0.3, 0.1 * j] for j in range(15)]] * 2}
    write_jhmdb(
        tmp_path,
        {
            "split1_train": [a],
            "split1_test": [b],
            "split2_train": [b, a],
            "split3_test": [a, b],
        },
    )
    dataset = load_jhmdb(tmp_path)
    assert [sorted(r.train_in) for r in dataset.records] == [["split1", "split2"], ["split2"]]
    assert sizes(dataset, "split3") == (0, 2)
    assert dataset[1].skeleton.coords.shape == (1, 2, 15, 2)
    write_jhmdb(tmp_path, {"split1_train": [a, b], "split2_train": [a]})
    one_line_error(lambda: load_jhmdb(tmp_path), "split2", "1 of the 2 clips")
    write_jhmdb(
        tmp_path, {"split1_train": [a]}, joints=list(reversed(get_layout("jhmdb15").joints))
    )
    one_line_error(lambda: load_jhmdb(tmp_path), "split1_train.json", "order")
    write_jhmdb(tmp_path, {"split1_train": [{"label": "dance", "pose": a["pose"]}]})
    one_line_error(lambda: load_jhmdb(tmp_path), "split1_train.json#0", "'dance'")
    write_jhmdb(tmp_path, {"split1_train": [{"label": "wave", "pose": [[[1, 2, 3]] * 15]}]})
    one_line_error(lambda: load_jhmdb(tmp_path), "(1, 15, 3)")
    write_jhmdb(tmp_path, {"split1_train": [a], "split2_train": [a], "split3_train": [a]})
    assert len(load_jhmdb(tmp_path)) == 1
    (tmp_path / "split3_test.json").unlink()
    one_line_error(lambda: load_jhmdb(tmp_path), "split3_test.json", "missing")


def test_penn_action_malformed_files(tmp_path):
    import scipy.io

    path = tmp_path / "0001.mat"
    path.write_bytes(b"MATLAB 5.0 MAT-file, truncated")
    one_line_error(lambda: read_penn_action(path), "0001.mat")
    ok = np.zeros((4, 13))
    scipy.io.savemat(
        path, {"x": ok, "y": np.zeros((4, 12)), "visibility": ok, "dimensions": [[9, 9, 4]]}
    )
    one_line_error(lambda: read_penn_action(path), "differ in shape")
    scipy.io.savemat(path, {"x": ok, "y": ok})
    one_line_error(lambda: read_penn_action(path), "visibility", "Penn Action label file")
    scipy.io.savemat(path, {"action": "juggle", "pose": "front", "train": [[1]]})
    one_line_error(lambda: load_penn_action(tmp_path), "'juggle'")
    scipy.io.savemat(path, {"action": "squat", "pose": "front", "train": [[0]]})
    one_line_error(lambda: load_penn_action(tmp_path), "train is 0")


def test_sbu_malformed_files_and_generated_reading(tmp_path):
    folder = tmp_path / "s01s02" / "03" / "001"
    folder.mkdir(parents=True)
    path = folder / "skeleton_pos.txt"
    frame = [0.5, 0.25, 1.5625] * 30  # X = 0 m, Y = 0.48 m, Z = 2.0 m for every joint
    path.write_text("\n".join(",".join(str(v) for v in [t, *frame]) for t in (1, 2)))
    dataset = load_sbu(tmp_path)
    s = dataset[0].skeleton
    assert s.coords.shape == (2, 2, 15, 3) and dataset.class_names[dataset[0].label] == "kicking"
    assert np.allclose(s.coords[..., :], [0.0, 0.48, 2.0])
    assert dataset.records[0].train_in == frozenset({"fold2", "fold3", "fold4", "fold5"})
    path.write_text("1," + ",".join(["0.5"] * 89))
    one_line_error(lambda: read_sbu_skeleton(path), "skeleton_pos.txt:1", "expected 91", "found 90")
    path.write_text("1," + ",".join(["0.5"] * 89 + ["x"]))
    one_line_error(lambda: read_sbu_skeleton(path), "skeleton_pos.txt:1", "not a number")
    (tmp_path / "s01s09" / "01" / "001").mkdir(parents=True)
    (tmp_path / "s01s09" / "01" / "001" / "skeleton_pos.txt").write_text("")
    one_line_error(lambda: load_sbu(tmp_path), "s01s09", "none of SBU's 21 sets")
