"""The Skeleton type: validation, slicing, model tensors, files (npz, JSON), and repairs."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from actscope.errors import PoseError
from actscope.pose import (
    Skeleton,
    drop_empty_frames,
    interpolate_missing,
    load_skeletons,
    repair_jumps,
    save_skeletons,
)


def make(people: int = 2, frames: int = 10, channels: int = 3, space: str = "world") -> Skeleton:
    rng = np.random.default_rng(7)
    coords = rng.normal(size=(people, frames, 15, channels)).astype(np.float32)
    scores = rng.uniform(size=(people, frames, 15)).astype(np.float32)
    return Skeleton(coords, scores, "body15", 10.0, space, "test", (640, 360))


def test_validation_names_the_problem():
    with pytest.raises(PoseError, match=r"\(M, T, V, 2 or 3\)"):
        Skeleton(np.zeros((3, 15, 3)), np.zeros((3, 15)), "body15", 30, "world")
    with pytest.raises(PoseError, match="15 joints"):
        Skeleton(np.zeros((1, 3, 17, 2)), np.zeros((1, 3, 17)), "body15", 30, "image")
    with pytest.raises(PoseError, match="scores"):
        Skeleton(np.zeros((1, 3, 15, 2)), np.zeros((1, 4, 15)), "body15", 30, "image")
    with pytest.raises(PoseError, match="coordinate space"):
        Skeleton(np.zeros((1, 3, 15, 2)), np.zeros((1, 3, 15)), "body15", 30, "pixels")
    with pytest.raises(PoseError, match="fps"):
        Skeleton(np.zeros((1, 3, 15, 2)), np.zeros((1, 3, 15)), "body15", 0, "image")


def test_missing_joints_are_whole_and_score_zero():
    coords = np.ones((1, 2, 15, 3), np.float32)
    coords[0, 1, 4, 2] = np.nan  # one axis missing
    original = coords.copy()
    skeleton = Skeleton(coords, np.full((1, 2, 15), 2.0), "body15", 30, "world")
    assert np.isnan(skeleton.coords[0, 1, 4]).all()
    assert skeleton.scores[0, 1, 4] == 0 and skeleton.scores[0, 0, 4] == 1.0  # clipped
    np.testing.assert_array_equal(coords, original)  # the caller's array is untouched
    assert skeleton.present().all()


def test_slice_time_uses_seconds():
    skeleton = make(frames=30)  # 10 fps: frame t at t / 10 s
    part = skeleton.slice_time(0.5, 1.2)
    np.testing.assert_array_equal(part.coords, skeleton.coords[:, 5:12])
    assert part.num_frames == 7 and part.duration == pytest.approx(0.7)
    assert skeleton.slice_time(2.5).num_frames == 5
    assert skeleton.slice_time(4.0, 5.0).num_frames == 0
    np.testing.assert_allclose(skeleton.times[:3], [0.0, 0.1, 0.2])


def test_to_tensor_is_ctvm_with_missing_as_zero():
    skeleton = make(people=2, frames=4)
    skeleton.coords[1, 2, 3] = np.nan
    tensor = skeleton.to_tensor()
    assert tuple(tensor.shape) == (3, 4, 15, 2) and str(tensor.dtype) == "torch.float32"
    assert tensor[:, 0, 5, 1].tolist() == pytest.approx(skeleton.coords[1, 0, 5].tolist())
    assert tensor[:, 2, 3, 1].tolist() == [0.0, 0.0, 0.0]
    padded = skeleton.to_tensor(max_people=3)
    assert padded.shape[-1] == 3 and float(padded[..., 2].abs().sum()) == 0.0
    assert skeleton.to_tensor(max_people=1).shape[-1] == 1


def test_empty_track_keeps_time():
    empty = Skeleton.empty("mediapipe33", 12, 25.0, "image")
    assert (empty.num_people, empty.num_frames, empty.num_joints) == (0, 12, 33)
    assert tuple(empty.to_tensor(max_people=1).shape) == (2, 12, 33, 1)


def test_save_and_load_round_trip(tmp_path):
    image, world = make(channels=2, space="image"), make(channels=3, space="world")
    path = tmp_path / "poses.npz"
    save_skeletons(path, [image, world])
    found = load_skeletons(path)
    assert set(found) == {"image", "world"}
    for original in (image, world):
        back = found[original.space]
        np.testing.assert_array_equal(back.coords, original.coords)
        np.testing.assert_array_equal(back.scores, original.scores)
        assert (back.layout, back.fps, back.source, back.image_size) == (
            "body15",
            10.0,
            "test",
            (640, 360),
        )
    assert Skeleton.load(path).space == "world"  # 3D preferred
    assert Skeleton.load(path, space="image").channels == 2
    with pytest.raises(PoseError, match="holds no 'normalized'"):
        Skeleton.load(path, space="normalized")
    assert [p.name for p in tmp_path.iterdir()] == ["poses.npz"]  # no temporary left


def test_a_file_of_another_version_is_refused(tmp_path):
    path = tmp_path / "old.npz"
    make().save(path)
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["version"] = np.array(3)
    np.savez(path, **arrays)
    with pytest.raises(PoseError, match=r"version 3.*reads versions 1 and 2") as error:
        Skeleton.load(path)
    assert "\n" not in str(error.value)


def test_files_that_are_not_skeletons_are_refused(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(PoseError, match="not a skeleton file"):
        Skeleton.load(text)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(PoseError, match="not an actscope skeleton"):
        Skeleton.load(other)
    truncated = tmp_path / "cut.npz"
    make().save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(PoseError, match=r"cut\.npz"):
        Skeleton.load(truncated)
    with pytest.raises(PoseError, match="no such skeleton file"):
        Skeleton.load(tmp_path / "absent.npz")


def test_a_failed_save_leaves_no_file(tmp_path, monkeypatch):
    def broken(handle, **arrays):
        handle.write(b"PK partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", broken)
    with pytest.raises(OSError, match="disk full"):
        make().save(tmp_path / "poses.npz")
    assert list(tmp_path.iterdir()) == []


def test_json_export(tmp_path):
    skeleton = make(people=1, frames=3, channels=2, space="image")
    skeleton.coords[0, 1, 0] = np.nan
    path = tmp_path / "poses.json"
    skeleton.save_json(path)
    data = json.loads(path.read_text())
    assert data["layout"] == "body15" and data["joints"][2] == "pelvis"
    assert data["version"] == 2 and data["image_size"] == [640, 360]
    assert len(data["frames"]) == 3 and data["frames"][2]["time"] == pytest.approx(0.2)
    joint = data["frames"][0]["people"][0][4]
    assert joint[:2] == pytest.approx(skeleton.coords[0, 0, 4].tolist(), abs=1e-4)
    assert joint[2] == pytest.approx(float(skeleton.scores[0, 0, 4]), abs=1e-4)
    assert data["frames"][1]["people"][0][0] is None


def test_npz_holds_no_pickles(tmp_path):
    path = tmp_path / "p.npz"
    make().save(path)
    with zipfile.ZipFile(path) as archive, np.load(path, allow_pickle=False) as data:
        assert archive.namelist() and all(data[k].dtype != object for k in data.files)


# --- repairs -----------------------------------------------------------------------------


def track_skeleton(track: np.ndarray) -> Skeleton:
    """A body15 skeleton whose every joint follows ``track`` (T, 3)."""
    coords = np.repeat(track[None, :, None, :], 15, axis=2).astype(np.float32)
    return Skeleton(coords, np.ones(coords.shape[:3]), "body15", 30, "world")


def test_repair_jumps_interpolates_a_glitch_that_comes_back():
    track = np.zeros((12, 3), np.float32)
    track[:, 0] = np.arange(12) * 0.01
    track[4:7] += [0.0, 0.9, 0.0]  # three frames thrown 0.9 m up, then back
    repaired, count = repair_jumps(track_skeleton(track), max_jump=0.5)
    assert count == 3 * 15
    np.testing.assert_allclose(repaired.coords[0, :, 0, 0], np.arange(12) * 0.01, atol=1e-6)
    np.testing.assert_allclose(repaired.coords[0, :, 0, 1], 0.0, atol=1e-6)
    assert (repaired.scores[0, 4:7] == 0).all() and (repaired.scores[0, :4] == 1).all()


def test_repair_jumps_leaves_a_jump_without_return():
    track = np.zeros((10, 3), np.float32)
    track[5:] += [0.8, 0.0, 0.0]
    skeleton = track_skeleton(track)
    repaired, count = repair_jumps(skeleton, max_jump=0.5)
    assert count == 0 and repaired is skeleton


def test_drop_empty_frames():
    track = np.ones((6, 3), np.float32)
    track[[1, 4]] = 0.0
    kept, dropped = drop_empty_frames(track_skeleton(track))
    assert dropped == 2 and kept.num_frames == 4 and (kept.coords == 1).all()


def test_interpolate_missing_fills_inner_gaps_only():
    track = np.arange(8, dtype=np.float32)[:, None].repeat(3, axis=1)
    track[[0, 3, 4]] = np.nan
    track[6] = np.nan
    filled = interpolate_missing(track_skeleton(track))
    got = filled.coords[0, :, 0, 0]
    assert np.isnan(got[0])  # the start stays missing
    np.testing.assert_allclose(got[1:], np.arange(1, 8))
    assert filled.scores[0, 3, 0] == 0  # filled, not observed
    short = interpolate_missing(track_skeleton(track), max_gap=1).coords[0, :, 0, 0]
    assert np.isnan(short[3]) and short[6] == pytest.approx(6)


def test_importing_pose_and_datasets_stays_light():
    import subprocess
    import sys

    code = (
        "import sys, actscope.pose, actscope.datasets; "
        "print([m for m in ('torch', 'mediapipe', 'cv2', 'scipy') if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
