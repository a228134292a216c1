"""Skeleton datasets: real UTD-MHAD, MSR Action3D and OpenPose CSVs; generated NTU files,
users' folders and malformed files."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from actscope.datasets import (
    cross_subject,
    cross_view,
    load_msr_action3d,
    load_ntu,
    load_skeleton_folder,
    load_utd_mhad,
    load_utd_mhad_openpose,
    load_video_folder,
    read_msr_skeleton,
    read_ntu_skeleton,
    read_openpose_csv,
    read_utd_mhad_skeleton,
)
from actscope.datasets.ntu import CLASSES_60
from actscope.errors import DatasetError
from actscope.pose import Skeleton, normalize, to_body15
from actscope.pose.layouts import BODY15
from realdata import shared_path

J = {name: i for i, name in enumerate(BODY15.joints)}


@pytest.fixture(scope="module")
def utd():
    dataset = load_utd_mhad(shared_path("utd_mhad"))
    list(dataset)  # read every file once
    return dataset


@pytest.fixture(scope="module")
def msr():
    dataset = load_msr_action3d(shared_path("msr_action3d"))
    list(dataset)
    return dataset


@pytest.fixture(scope="module")
def openpose():
    dataset = load_utd_mhad_openpose(shared_path("utd_mhad_openpose"))
    list(dataset)
    return dataset


def body(skeleton: Skeleton) -> np.ndarray:
    """(T, 15, C) canonical body15 coordinates of the first person."""
    return to_body15(skeleton).coords[0]


def moved(track: np.ndarray) -> float:
    """Path length of a (T, C) joint track."""
    return float(np.nansum(np.linalg.norm(np.diff(track, axis=0), axis=-1)))


# --- counts and splits (figures from each dataset's MANIFEST) ----------------------------


@pytest.mark.real_data
def test_utd_mhad_counts_and_split(utd):
    assert len(utd) == 861 and len(utd.class_names) == 27
    assert set(utd.labels.tolist()) == set(range(27))
    assert set(utd.subjects.tolist()) == set(range(1, 9))
    train, test = cross_subject(utd)
    assert (len(train), len(test)) == (107 + 108 + 108 + 108, 108 + 108 + 107 + 107)
    assert set(train.subjects.tolist()) == {1, 3, 5, 7}
    item = utd[0]
    assert item.skeleton.layout == "kinect_v1_20" and item.skeleton.space == "world"
    assert item.path.name == "a10_s1_t1_skeleton.mat" and (item.subject, item.trial) == (1, 1)
    assert utd.class_names[item.label] == "draw circle (counter clockwise)"
    frames = [i.skeleton.num_frames for i in utd]
    assert (min(frames), max(frames)) == (41, 125)


@pytest.mark.real_data
def test_msr_action3d_counts_split_and_caveats(msr):
    assert len(msr) == 567 and len(msr.class_names) == 20
    assert set(msr.subjects.tolist()) == set(range(1, 11))
    train, test = cross_subject(msr)
    assert (len(train), len(test)) == (60 + 56 + 57 + 59 + 60, 59 + 38 + 58 + 60 + 60)
    assert len(load_msr_action3d(shared_path("msr_action3d"), subset="cvpr12")) == 557
    by_name = {item.path.name: item.skeleton for item in msr}
    assert by_name["a13_s09_e02_skeleton3D.txt"].num_frames == 0  # the all-zero file
    assert by_name["a13_s09_e03_skeleton3D.txt"].num_frames == 936 - 740
    for skeleton in by_name.values():  # no all-zero frame is left
        assert (np.abs(skeleton.coords).sum(axis=(0, 2, 3)) > 0).all()


@pytest.mark.real_data
def test_openpose_csvs_counts(openpose):
    assert len(openpose) == 195 and len(openpose.class_names) == 27
    assert sorted(set(openpose.labels.tolist())) == [0, 5, 6, 7, 8, 23, 25]
    _, test = cross_subject(openpose)
    assert len(test) == 96  # the transfer test set: subjects 2, 4, 6, 8
    assert openpose[0].skeleton.layout == "openpose18"


# --- up is up and left is left, on real frames -------------------------------------------


@pytest.mark.real_data
@pytest.mark.parametrize("which", ["utd", "msr"])
def test_kinect_skeletons_stand_upright_facing_the_camera(which, request):
    dataset = request.getfixturevalue(which)
    facing = upright = 0
    items = [item for item in dataset if item.skeleton.num_frames]
    for item in items:
        b = np.nanmedian(body(item.skeleton), axis=0)  # (15, 3)
        upright += b[J["head"], 1] > b[J["pelvis"], 1] > b[J["left_ankle"], 1]
        facing += b[J["left_shoulder"], 0] > b[J["right_shoulder"], 0]
    assert upright == len(items)
    assert facing >= 0.95 * len(items)


@pytest.mark.real_data
@pytest.mark.parametrize(
    ("which", "action"),
    [("utd", "right hand wave"), ("utd", "right arm throw"), ("msr", "high arm wave")],
)
def test_the_joint_labelled_right_wrist_moves_in_right_arm_actions(which, action, request):
    dataset = request.getfixturevalue(which)
    label = dataset.class_names.index(action)
    items = [item for item in dataset if item.label == label]
    right = [moved(body(i.skeleton)[:, J["right_wrist"]]) for i in items]
    left = [moved(body(i.skeleton)[:, J["left_wrist"]]) for i in items]
    assert sum(r > 2 * lft for r, lft in zip(right, left, strict=True)) >= 0.9 * len(items)


@pytest.mark.real_data
def test_waving_right_hand_rises_above_the_shoulder(utd):
    label = utd.class_names.index("right hand wave")
    for item in (i for i in utd if i.label == label):
        b = body(item.skeleton)
        lift = b[:, J["right_wrist"], 1] - b[:, J["right_shoulder"], 1]
        assert lift.max() > 0.1, item.path.name  # metres, y up


@pytest.mark.real_data
def test_swipe_to_the_left_moves_the_right_wrist_to_plus_x_in_both_sources(utd, openpose):
    """'right arm swipe to the left': the right wrist travels towards the person's left,
    +x in canonical axes, in the Kinect skeletons and in the (unmirrored) OpenPose CSVs."""
    for dataset in (utd, openpose):
        items = [i for i in dataset if i.label == 0]
        rightward = 0
        for item in items:
            b = normalize(item.skeleton, dims=2)
            track = to_body15(b).coords[0]
            wrist_x = track[:, J["right_wrist"], 0]
            right = moved(track[:, J["right_wrist"]])
            left = moved(track[:, J["left_wrist"]])
            rightward += right > left and np.nanmax(wrist_x) - wrist_x[0] > 0.5
        assert rightward >= 0.9 * len(items), dataset.name


@pytest.mark.real_data
def test_openpose_keypoints_as_written_are_mirrored():
    """Without unmirroring, the keypoint labelled left wrist is the one that swipes."""
    folder = shared_path("utd_mhad_openpose")
    raw = load_utd_mhad_openpose(folder, unmirror=False)
    items = [i for i in raw if i.label == 0]
    left_moves = sum(
        moved(body(i.skeleton)[:, J["left_wrist"]]) > moved(body(i.skeleton)[:, J["right_wrist"]])
        for i in items
    )
    assert left_moves >= 0.9 * len(items)


@pytest.mark.real_data
def test_kinect_and_openpose_agree_after_normalisation(utd, openpose):
    """Same trials, two sensors: after 2D normalisation the bodies have similar proportions."""
    kinect = {(i.label, i.subject, i.trial): i.skeleton for i in utd}
    spans = []
    for item in openpose:
        other = kinect[(item.label, item.subject, item.trial)]
        a = np.nanmedian(to_body15(normalize(item.skeleton)).coords[0], axis=0)
        b = np.nanmedian(to_body15(normalize(other, dims=2)).coords[0], axis=0)
        spans.append(
            (a[J["head"], 1] - a[J["left_ankle"], 1], b[J["head"], 1] - b[J["left_ankle"], 1])
        )
    spans = np.array(spans)
    assert (spans > 1.5).all()  # head well above the ankles in both
    assert np.median(spans[:, 0] / spans[:, 1]) == pytest.approx(1.0, abs=0.35)


# --- malformed files ---------------------------------------------------------------------


@pytest.mark.real_data
def test_corrupt_mat_files(tmp_path):
    good = shared_path("utd_mhad", "Skeleton", "a1_s1_t1_skeleton.mat")
    cut = tmp_path / "a1_s1_t1_skeleton.mat"
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(DatasetError, match=r"a1_s1_t1_skeleton\.mat.*re-download"):
        read_utd_mhad_skeleton(cut)
    noise = tmp_path / "noise.mat"
    noise.write_bytes(np.random.default_rng(0).bytes(2000))
    with pytest.raises(DatasetError, match=r"noise\.mat"):
        read_utd_mhad_skeleton(noise)


def test_mat_without_or_with_a_wrong_skeleton(tmp_path):
    import scipy.io

    scipy.io.savemat(tmp_path / "other.mat", {"d_iner": np.zeros((10, 6))})
    with pytest.raises(DatasetError, match="no 'd_skel'"):
        read_utd_mhad_skeleton(tmp_path / "other.mat")
    scipy.io.savemat(tmp_path / "wrong.mat", {"d_skel": np.zeros((25, 3, 10))})
    with pytest.raises(DatasetError, match=r"\(25, 3, 10\)"):
        read_utd_mhad_skeleton(tmp_path / "wrong.mat")


def test_generated_mat_is_reordered_to_kinect_v1(tmp_path):
    import scipy.io

    skel = np.zeros((20, 3, 5))
    skel[:, 0, :] = np.arange(20)[:, None]  # x = index in the file's joint order
    skel[:, 1, :] = 1.0
    scipy.io.savemat(tmp_path / "a2_s3_t4_skeleton.mat", {"d_skel": skel})
    skeleton = read_utd_mhad_skeleton(tmp_path / "a2_s3_t4_skeleton.mat")
    layout = skeleton.get_layout()
    # the file's order: head, shoulder centre, spine, hip centre, left shoulder, ...
    for file_index, name in enumerate(["head", "shoulder_center", "spine", "hip_center"]):
        assert skeleton.coords[0, 0, layout.index(name), 0] == file_index
    assert skeleton.coords[0, 0, layout.index("right_foot"), 0] == 19
    dataset = load_utd_mhad(tmp_path)
    assert (dataset[0].label, dataset[0].subject, dataset[0].trial) == (1, 3, 4)


def msr_text(frames: int) -> str:
    rows = []
    for t in range(frames):
        for j in range(20):
            rows.append(f"{0.01 * j:.6f} {0.1 * t + 0.02 * j:.6f} 2.700000 1.000000")
    return "\n".join(rows) + "\n"


def test_msr_wrong_column_count_names_the_line(tmp_path):
    path = tmp_path / "a01_s01_e01_skeleton3D.txt"
    lines = msr_text(3).splitlines()
    lines[25] = "0.1 0.2 2.7"
    path.write_text("\n".join(lines))
    with pytest.raises(DatasetError, match=r"skeleton3D\.txt:26: expected 4 numbers.*found 3"):
        read_msr_skeleton(path)
    lines[25] = "0.1 0.2 x 1.0"
    path.write_text("\n".join(lines))
    with pytest.raises(DatasetError, match=r":26: not a number"):
        read_msr_skeleton(path)
    path.write_text("\n".join(msr_text(3).splitlines()[:45]))
    with pytest.raises(DatasetError, match="45 rows is not a whole number"):
        read_msr_skeleton(path)


def test_msr_generated_file_is_reordered_and_zero_frames_dropped(tmp_path):
    text = msr_text(4).splitlines()
    text[20:40] = ["0 0 0 0"] * 20  # frame 1 lost by the tracker
    path = tmp_path / "a05_s02_e03_skeleton3D.txt"
    path.write_text("\n".join(text))
    skeleton = read_msr_skeleton(path)
    assert skeleton.num_frames == 3
    layout = skeleton.get_layout()
    # file order starts left shoulder, right shoulder, shoulder centre; ends with the head
    assert skeleton.coords[0, 0, layout.index("left_shoulder"), 0] == pytest.approx(0.0)
    assert skeleton.coords[0, 0, layout.index("shoulder_center"), 0] == pytest.approx(0.02)
    assert skeleton.coords[0, 0, layout.index("head"), 0] == pytest.approx(0.19)
    record = load_msr_action3d(tmp_path).records[0]
    assert (record.label, record.subject, record.trial) == (4, 2, 3)


def test_openpose_csv_wrong_column_count(tmp_path):
    path = tmp_path / "a1_s1_t1_color.avi.csv"
    row = ",".join(["0.5"] * 36)
    path.write_text(f"{row}\n{row},0.1\n")
    with pytest.raises(DatasetError, match=r"csv:2: expected 36 .* found 37"):
        read_openpose_csv(path)


def test_empty_or_missing_dataset_folders(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        load_utd_mhad(tmp_path / "absent")
    with pytest.raises(DatasetError, match=r"no \*_skeleton3D\.txt"):
        load_msr_action3d(tmp_path)


# --- NTU RGB+D .skeleton (generated; no real files in ../shared/data) ---------------------


def ntu_text(frames: int, bodies: dict[str, range], joint_fields: int = 12) -> str:
    """A .skeleton file: each body present in the frames of its range; joint j of body b
    at x = j / 100 + b-th offset, y = frame / 10; tracking state 2."""
    lines = [str(frames)]
    for t in range(frames):
        present = [b for b, span in bodies.items() if t in span]
        lines.append(str(len(present)))
        for b in present:
            offset = list(bodies).index(b)
            lines.append(f"{b} 0 1 1 1 1 0 0.1 0.2 2")
            lines.append("25")
            for j in range(25):
                values = [j / 100 + offset, t / 10, 3.0, 0, 0, 900 + j, 500 + t, 1, 0, 0, 0, 2]
                lines.append(" ".join(str(v) for v in values[:joint_fields]))
    return "\n".join(lines) + "\n"


def test_ntu_reader_follows_bodies_and_keeps_time(tmp_path):
    path = tmp_path / "S001C002P003R001A023.skeleton"
    bodies = {"72057594037931101": range(0, 6), "72057594037931102": range(2, 5), "77": range(3, 4)}
    path.write_text(ntu_text(6, bodies))
    skeleton = read_ntu_skeleton(path)
    assert skeleton.layout == "ntu25" and skeleton.coords.shape == (2, 6, 25, 3)
    assert np.isnan(skeleton.coords[1, :2]).all() and not np.isnan(skeleton.coords[1, 2:5]).any()
    assert skeleton.coords[0, 4, 7, 0] == pytest.approx(0.07)
    assert skeleton.coords[1, 3, 0, 0] == pytest.approx(1.0)  # the second body, not "77"
    assert skeleton.scores[0, 0, 0] == 1.0
    image = read_ntu_skeleton(path, space="image", max_people=1)
    assert image.coords.shape == (1, 6, 25, 2) and image.image_size == (1920, 1080)
    assert image.coords[0, 5, 3].tolist() == [903, 505]
    dataset = load_ntu(tmp_path)
    assert dataset.records[0].camera == 2 and dataset.records[0].subject == 3
    assert dataset.class_names[dataset[0].label] == "hand waving"


def test_ntu_malformed_lines_are_named(tmp_path):
    path = tmp_path / "S001C001P001R001A001.skeleton"
    lines = ntu_text(2, {"1": range(2)}).splitlines()
    lines[10] = "0.1 0.2 0.3"
    path.write_text("\n".join(lines))
    with pytest.raises(DatasetError, match=r"skeleton:11: expected 12 values \(joint values\)"):
        read_ntu_skeleton(path)
    path.write_text("\n".join(ntu_text(2, {"1": range(2)}).splitlines()[:20]))
    with pytest.raises(DatasetError, match="truncated"):
        read_ntu_skeleton(path)


def test_ntu_splits(tmp_path):
    for name in ("S001C001P001R001A001", "S001C002P002R001A001", "S001C003P003R001A002"):
        (tmp_path / f"{name}.skeleton").write_text(ntu_text(1, {"1": range(1)}))
    dataset = load_ntu(tmp_path)
    train, test = cross_subject(dataset)  # performers 1 and 2 train, 3 tests
    assert len(train) == 2 and len(test) == 1
    train, test = cross_view(dataset)
    assert sorted(r.camera for r in train.records) == [2, 3] and len(test) == 1


@pytest.mark.real_data
def test_ntu_class_names_match_the_label_map():
    names = shared_path("sample_clips", "label_map_ntu60.txt").read_text().splitlines()
    assert list(CLASSES_60) == [n.strip() for n in names if n.strip()]


# --- users' folders and the torch wrapper ------------------------------------------------


def write_folder(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "clips").mkdir()
    rows = ["file,label,subject,trial"]
    for i, label in enumerate(["wave", "squat", "wave"]):
        coords = rng.normal(size=(1, 8 + i, 15, 3)).astype(np.float32)
        Skeleton(coords, np.ones(coords.shape[:3]), "body15", 30, "world").save(
            tmp_path / "clips" / f"c{i}.npz"
        )
        rows.append(f"clips/c{i}.npz,{label},{i + 1},1")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")


def test_skeleton_folder_with_labels(tmp_path):
    write_folder(tmp_path)
    dataset = load_skeleton_folder(tmp_path)
    assert dataset.class_names == ["squat", "wave"]
    assert dataset.labels.tolist() == [1, 0, 1] and dataset.subjects.tolist() == [1, 2, 3]
    assert dataset[2].skeleton.num_frames == 10
    train, test = cross_subject(dataset, train_subjects=[1, 2])
    assert len(train) == 2 and len(test) == 1
    fixed = load_skeleton_folder(tmp_path, classes=["wave", "squat", "jump"])
    assert fixed.labels.tolist() == [0, 1, 0]


def test_skeleton_folder_errors_name_the_line(tmp_path):
    write_folder(tmp_path)
    labels = tmp_path / "labels.csv"
    labels.write_text(labels.read_text().replace("clips/c1.npz", "clips/gone.npz"))
    with pytest.raises(DatasetError, match=r"labels\.csv:3: .*gone\.npz does not exist"):
        load_skeleton_folder(tmp_path)
    labels.write_text("path,class\nx.npz,wave\n")
    with pytest.raises(DatasetError, match="header lacks file, label"):
        load_skeleton_folder(tmp_path)
    labels.write_text("file,label,subject\nclips/c0.npz,wave,one\n")
    with pytest.raises(DatasetError, match=r":2: subject must be a whole number"):
        load_skeleton_folder(tmp_path)
    with pytest.raises(DatasetError, match="no labels file"):
        load_skeleton_folder(tmp_path, labels="absent.csv")


def test_torch_wrapper_gives_tensor_and_label(tmp_path):
    torch = pytest.importorskip("torch")
    from actscope.datasets.skeleton_torch import SkeletonTorchDataset

    write_folder(tmp_path)
    dataset = load_skeleton_folder(tmp_path)
    wrapped = SkeletonTorchDataset(dataset, lambda s: s.frames(0, 8).to_tensor(max_people=2))
    tensor, label = wrapped[1]
    assert tuple(tensor.shape) == (3, 8, 15, 2) and label == 0
    batch, labels = next(iter(torch.utils.data.DataLoader(wrapped, batch_size=3)))
    assert tuple(batch.shape) == (3, 3, 8, 15, 2) and labels.tolist() == [1, 0, 1]


@pytest.mark.real_data
def test_utd_mhad_reads_from_a_copy_of_one_file(tmp_path):
    source = shared_path("utd_mhad", "Skeleton", "a3_s2_t1_skeleton.mat")
    shutil.copy(source, tmp_path / source.name)
    dataset = load_utd_mhad(tmp_path)
    assert len(dataset) == 1 and dataset.class_names[dataset[0].label] == "right hand wave"


@pytest.mark.real_data
def test_video_folder_extracts_once_then_reads_the_cache(tmp_path):
    from videogen import write_video

    shutil.copy(
        shared_path("pushup_form", "videos", "correct", "correct10.mp4"), tmp_path / "p.mp4"
    )
    write_video(tmp_path / "empty.mp4", 8, width=64, height=48)
    (tmp_path / "labels.csv").write_text("file,label\np.mp4,push_up\nempty.mp4,nothing\n")
    dataset = load_video_folder(tmp_path, workers=1)
    assert dataset.class_names == ["nothing", "push_up"]
    pushup, empty = dataset[0].skeleton, dataset[1].skeleton
    assert pushup.coords.shape == (1, 45, 33, 3) and pushup.space == "world"
    assert empty.num_people == 0 and empty.num_frames == 8
    cache = tmp_path / "poses" / "p.mp4.npz"
    stamp = cache.stat().st_mtime_ns
    again = load_video_folder(tmp_path, space="image")
    assert again[0].skeleton.space == "image" and cache.stat().st_mtime_ns == stamp
