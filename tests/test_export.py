"""``actscope export`` and the ONNX Runtime backend: every exportable family gives the eager
model's logits on real inputs, the file carries what a Recognizer needs, ``--backend onnx``
names the same actions as PyTorch, and bad files and models fail in one line."""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from actscope.cli import main
from actscope.errors import ModelError
from actscope.inference import Recognizer
from actscope.inference.onnx_backend import load_onnx
from actscope.inference.onnx_export import Exportable, cache_dir, export_onnx, resolve
from actscope.models.registry import create_model, get_entry, register_model
from actscope.pose.features import BodyFeatures
from realdata import shared_path
from videogen import decode_all, write_video

pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.usefixtures("one_thread")

# max |logits eager - ONNX Runtime|, float32: absolute for the trained models (logits up to
# 20), relative to the largest logit above unit scale for random weights (logits up to 60
# once batch norm keeps activations at scale; see calibrated())
TOLERANCE = 1e-4
PUSHUP = ("pushup_form", "videos", "wrong", "wrong13.mp4")
UTD_FILES = ("a1_s1_t1", "a5_s2_t2", "a10_s3_t3", "a20_s4_t1")
SKELETON = ("tcn", "tcn_ms", "stgcn", "stgcnpp", "stgcnpp_lite", "sgn", "sgn_ms")
# One model per RGB family, at a small input (8 frames of 32 x 32, tiny transformers; SlowFast
# 4x16 takes 16 frames: its Slow pathway's one frame of 8 exports wrong, see test below).
# MViT (fixed at 16 x 224 x 224, 64 GMACs) is left to benchmarks/bench_export.py.
TINY_VIT = dict(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64)
RGB = {
    "mc3_18": {},  # torchvision's video ResNets (r3d_18, r2plus1d_18 alike)
    "x3d_xs": {},
    "slowfast_r50_4x16": {},
    "i3d_r50": {},
    "tsm_r50": {},  # TSN: the same network without the shift
    "swin3d_t": {},
    "s3d": {},  # at 16 frames of 224 x 224: its pooling is fixed to that size
    "timesformer_base": dict(num_frames=8, image_size=32, patch_size=8, **TINY_VIT),
    "videomae_base": dict(num_frames=8, image_size=32, patch_size=8, **TINY_VIT),
    "vivit_b": dict(num_frames=8, image_size=32, tubelet_size=(2, 8, 8), **TINY_VIT),
}


def calibrated(model: nn.Module, inputs: torch.Tensor) -> nn.Module:
    """``model`` (random weights) in eval mode with batch-norm statistics taken from 4 noise
    inputs shaped like ``inputs``, so that activations keep their scale through the network
    as trained ones do (fresh statistics let them vanish in deep networks: S3D's logits would
    be its bias alone, and any export would match)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average: one pass sets the statistics
    noise = torch.randn(4, *inputs.shape[1:], generator=torch.Generator().manual_seed(3))
    model.train()
    with torch.no_grad():
        model(noise)
    return model.eval()


def assert_parity(model: nn.Module, path, inputs: torch.Tensor, classes: int) -> None:
    """The ONNX file's logits are the eager model's within :data:`TOLERANCE` (relative
    above unit scale), and the model reads its input: the rows of different inputs differ,
    so the comparison cannot pass on a constant output."""
    expected = eager_logits(model, inputs)
    assert expected.shape == (len(inputs), classes)
    assert np.abs(expected - expected[0]).max() > 1e-3
    scale = max(1.0, float(np.abs(expected).max()))
    assert np.abs(onnx_logits(path, inputs) - expected).max() < TOLERANCE * scale


def onnx_logits(path, inputs: torch.Tensor) -> np.ndarray:
    return load_onnx(path).model(inputs).numpy()


def eager_logits(model: nn.Module, inputs: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model(inputs).numpy()


@pytest.fixture(scope="module")
def utd_skeletons():
    from actscope.datasets.utd_mhad import read_utd_mhad_skeleton

    folder = shared_path("utd_mhad", "Skeleton")
    return [read_utd_mhad_skeleton(folder / f"{name}_skeleton.mat") for name in UTD_FILES]


@pytest.fixture(scope="module")
def default_onnx(tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "default.onnx"
    export_onnx(resolve("default"), path)
    return path


# --- parity ------------------------------------------------------------------------------------


@pytest.mark.real_data
def test_the_default_model_matches_eager_on_real_skeletons(default_onnx, utd_skeletons):
    torch_model = Recognizer.load("default")
    inputs = torch.stack([torch_model.features(s) for s in utd_skeletons])
    expected = eager_logits(torch_model.model, inputs)
    assert np.abs(onnx_logits(default_onnx, inputs) - expected).max() < TOLERANCE
    onnx_model = Recognizer.load(default_onnx)
    np.testing.assert_allclose(
        onnx_model.skeleton_scores(utd_skeletons),
        torch_model.skeleton_scores(utd_skeletons),
        atol=1e-5,
    )


@pytest.mark.real_data
@pytest.mark.parametrize("name", SKELETON)
def test_skeleton_families_match_eager_on_real_skeletons(name, utd_skeletons, tmp_path):
    """Random weights (seeded), UTD-MHAD's Kinect skeletons through each model's own
    features, a batch of 4 through a file exported at batch 1."""
    torch.manual_seed(0)
    exportable = resolve(name, num_classes=27)
    inputs = torch.stack([exportable.input(s) for s in utd_skeletons])
    calibrated(exportable.model, inputs)
    export_onnx(exportable, tmp_path / "m.onnx")
    assert_parity(exportable.model, tmp_path / "m.onnx", inputs, 27)


@pytest.mark.real_data
def test_efficientgcn_with_published_weights_matches_eager_on_ntu_skeletons(tmp_path):
    """The authors' NTU-60 weights on real NTU RGB+D raw input (the reference clips)."""
    from test_efficientgcn import CHECKPOINT, REFERENCE

    exportable = resolve("efficientgcn_b0", shared_path(*CHECKPOINT))
    with np.load(REFERENCE) as data:
        inputs = torch.from_numpy(data["inputs"])
    export_onnx(exportable, tmp_path / "m.onnx")
    expected = eager_logits(exportable.model, inputs)
    got = onnx_logits(tmp_path / "m.onnx", inputs)
    assert np.abs(got - expected).max() < TOLERANCE
    assert (got.argmax(1) == expected.argmax(1)).all()


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> np.ndarray:
    """Two clips of 16 frames (64 x 48) from a generated video: ``(2, 16, 48, 64, 3)`` uint8."""
    video = write_video(tmp_path_factory.mktemp("clips") / "v.mp4", 32, width=64, height=48)
    frames, _ = decode_all(video)
    return np.stack([frames[:16], frames[16:32]])


@pytest.mark.parametrize("name", sorted(RGB))
def test_rgb_families_match_eager_on_decoded_clips(name, clips, tmp_path):
    torch.manual_seed(0)
    entry = get_entry(name)
    frames = 16 if name in ("slowfast_r50_4x16", "s3d") else 8
    size = 224 if name == "s3d" else 32
    spec = dataclasses.replace(entry.input, frames=frames, size=size, resize=size)
    model = create_model(name, num_classes=7, **RGB[name]).eval()
    transform = spec.transform()
    inputs = torch.stack([transform(c[:frames]) for c in clips])
    calibrated(model, inputs)
    exportable = Exportable(model, [f"c{i}" for i in range(7)], spec, name, "random weights")
    export_onnx(exportable, tmp_path / "m.onnx")
    assert_parity(model, tmp_path / "m.onnx", inputs, 7)
    # Where eager float32 is itself more than 1e-4 from exact arithmetic (SlowFast: 1.2e-4),
    # no float32 export can be within 1e-4 of it; the file is held to eager's own accuracy.
    exact = copy.deepcopy(model).double()
    with torch.no_grad():
        exact_logits = exact(inputs.double()).numpy()
    eager_error = np.abs(eager_logits(model, inputs) - exact_logits).max()
    onnx_error = np.abs(onnx_logits(tmp_path / "m.onnx", inputs) - exact_logits).max()
    assert onnx_error <= max(2 * eager_error, TOLERANCE), (onnx_error, eager_error)


def test_a_graph_that_exports_wrong_is_not_kept(tmp_path):
    """SlowFast 4x16 at 8 frames picks its Slow frame with linspace(steps=1), which the
    TorchScript exporter turns into a division by zero: the check run catches it."""
    spec = dataclasses.replace(get_entry("slowfast_r50_4x16").input, frames=8, size=32)
    model = create_model("slowfast_r50_4x16", num_classes=3).eval()
    exportable = Exportable(model, ["a", "b", "c"], spec, "slowfast_r50_4x16", "random weights")
    with pytest.raises(ModelError, match="slowfast_r50_4x16 exported to a graph"):
        export_onnx(exportable, tmp_path / "m.onnx")
    assert not list(tmp_path.iterdir())


# --- the file's metadata -----------------------------------------------------------------------


def test_metadata_round_trip(default_onnx):
    import onnx

    from actscope.checkpoint import default_checkpoint, load_checkpoint

    checkpoint = load_checkpoint(default_checkpoint())
    loaded = load_onnx(default_onnx)
    assert loaded.class_names == checkpoint["class_names"]
    assert loaded.input.to_dict() == checkpoint["input"]
    assert loaded.unknown is not None
    assert loaded.unknown.to_dict() == checkpoint["unknown"]
    assert loaded.name == checkpoint["model"]["name"]
    meta = {p.key: p.value for p in onnx.load(default_onnx).metadata_props}
    assert json.loads(meta["actscope.input"])["kind"] == BodyFeatures.kind
    assert meta["actscope.version"]
    recognizer = Recognizer.load(default_onnx)
    assert type(recognizer).__name__ == "SkeletonRecognizer"
    assert recognizer.class_names == checkpoint["class_names"]


@pytest.mark.real_data
def test_int8_file_is_smaller_and_scores_close(tmp_path, default_onnx, utd_skeletons):
    """Dynamic int8 weights: under 40% of the size; probabilities near the float ones."""
    report = export_onnx(resolve("default"), tmp_path / "m8.onnx", int8=True)
    assert report.int8 and report.size < 0.4 * default_onnx.stat().st_size
    exact = Recognizer.load(default_onnx).skeleton_scores(utd_skeletons)
    int8 = Recognizer.load(tmp_path / "m8.onnx").skeleton_scores(utd_skeletons)
    assert not np.array_equal(int8, exact)  # the weights really are quantised
    assert np.abs(int8 - exact).max() < 0.05


# --- the backend through the CLI and the API --------------------------------------------------


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``actscope ARGS`` (``capfd`` also catches native
    code's output)."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


@pytest.mark.real_data
def test_predict_backend_onnx_names_the_same_actions_as_torch(tmp_path, monkeypatch, capsys):
    """On a real push-up video: the same top-5 with the same scores; the model is exported
    once into the cache and read from there the next time."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    video = str(shared_path(*PUSHUP))
    runs = {}
    for backend in ("torch", "onnx"):
        code, out, _ = run_cli(capsys, "predict", video, "--json", "--backend", backend)
        assert code == 0
        runs[backend] = json.loads(out)[0]
    torch_top, onnx_top = runs["torch"]["top"], runs["onnx"]["top"]
    assert [t["label"] for t in onnx_top] == [t["label"] for t in torch_top]
    assert (
        max(abs(a["score"] - b["score"]) for a, b in zip(onnx_top, torch_top, strict=True)) < 1e-3
    )
    assert runs["onnx"]["label"] == runs["torch"]["label"] == "push-up"
    (cached,) = cache_dir().glob("*.onnx")
    stamp = cached.stat().st_mtime_ns
    recognizer = Recognizer.load("default", backend="onnx")
    assert recognizer.source.endswith("(onnx)")
    assert [p.name for p in cache_dir().glob("*.onnx")] == [cached.name]
    assert cached.stat().st_mtime_ns == stamp


@pytest.mark.real_data
def test_live_runs_an_exported_file(default_onnx, capsys):
    """`live` reads the same Recognizer: an exported file, on the real push-up video."""
    video = str(shared_path(*PUSHUP))
    code, out, err = run_cli(capsys, "live", video, "-m", str(default_onnx))
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [e["action"] for e in events if e["event"] == "action_start"] == ["push-up"]


def test_export_cli_writes_a_file_predict_reads(tmp_path, capsys):
    target = tmp_path / "tcn.onnx"
    code, _, err = run_cli(capsys, "export", "tcn", "--num-classes", "5", "-o", str(target))
    assert code == 0, err
    assert "random weights" in err and "written" in err
    loaded = load_onnx(target)
    assert loaded.class_names == [str(i) for i in range(5)] and loaded.name == "tcn"


def test_onnx_device_cpu_is_the_cpu_provider_and_cuda_needs_onnxruntime_gpu(
    default_onnx, utd_skeletons, monkeypatch
):
    """cpu: ONNX Runtime's CPU provider, scoring as ``load``'s default; auto: the CPU where
    CUDA or onnxruntime's CUDA provider is missing; cuda without that provider: one line
    saying what to install (CUDA is faked present for torch to reach that check)."""
    import onnxruntime

    default = Recognizer.load(default_onnx)
    on_cpu = Recognizer.load(default_onnx, device="cpu")
    assert on_cpu.model.session.get_providers() == ["CPUExecutionProvider"]
    assert default.device.type == on_cpu.device.type == "cpu"
    inputs = torch.stack([default.input(s) for s in utd_skeletons])
    assert np.array_equal(on_cpu.scores(inputs), default.scores(inputs))
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert Recognizer.load(default_onnx, device="auto").device.type == "cpu"
    with pytest.raises(ModelError, match="install onnxruntime-gpu") as info:
        Recognizer.load(default_onnx, device="cuda")
    assert "\n" not in str(info.value) and "CUDAExecutionProvider" in str(info.value)


def test_unknown_backend_is_refused():
    with pytest.raises(ModelError, match="unknown backend 'tensorrt'"):
        Recognizer.load("default", backend="tensorrt")


# --- failures: one line, exit code 2 ----------------------------------------------------------


class Unexportable(nn.Module):
    """A skeleton model using an op the TorchScript exporter has no ONNX form for."""

    def __init__(self, num_classes: int = 3, **_: object) -> None:
        super().__init__()
        self.fc = nn.Linear(1, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, T, V, M) -> (N, K)
        pooled = x.flatten(1).median(dim=1).values  # aten::median: no ONNX form at opset 17
        return self.fc(pooled[:, None])


@pytest.fixture(scope="module")
def unexportable_checkpoint(tmp_path_factory):
    from actscope.checkpoint import make_checkpoint, save_checkpoint

    name = "test_unexportable_median"
    register_model(name, family="skeleton", input=BodyFeatures())(Unexportable)
    model = create_model(name, num_classes=3)
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    save_checkpoint(
        make_checkpoint(
            model,
            model_name=name,
            model_kwargs={},
            class_names=["a", "b", "c"],
            input_spec=BodyFeatures(),
        ),
        path,
    )
    return path


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


def test_a_model_that_cannot_export_is_one_line(unexportable_checkpoint, tmp_path, capfd):
    target = tmp_path / "m.onnx"
    code, out, err = run_cli(capfd, "export", str(unexportable_checkpoint), "-o", str(target))
    assert out == ""
    assert_one_line_error(code, err, "test_unexportable_median cannot be exported to ONNX")
    assert not list(tmp_path.glob("*.onnx*")), "no partial output is left"


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"not a protobuf at all", "not a model ONNX Runtime can load"),
        ("truncated", "not a model ONNX Runtime can load"),
        ("foreign", "without actscope's metadata"),
    ],
)
def test_a_bad_onnx_file_is_one_line(content, fragment, default_onnx, tmp_path, videos, capfd):
    bad = tmp_path / "bad.onnx"
    if content == "truncated":
        bad.write_bytes(default_onnx.read_bytes()[: default_onnx.stat().st_size // 2])
    elif content == "foreign":  # a valid ONNX model exported without actscope's metadata
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation
            torch.onnx.export(nn.Linear(4, 2), (torch.zeros(1, 4),), str(bad), dynamo=False)
    else:
        bad.write_bytes(content)
    code, _, err = run_cli(capfd, "predict", "-m", str(bad), str(videos["h264_mp4"]))
    assert_one_line_error(code, err, str(bad), fragment)


def test_missing_onnx_packages_name_the_extra(monkeypatch, tmp_path, videos, capsys):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    code, _, err = run_cli(capsys, "export", "default", "-o", str(tmp_path / "m.onnx"))
    assert_one_line_error(code, err, "pip install 'actscope[onnx]'")
    video = str(videos["h264_mp4"])
    code, _, err = run_cli(capsys, "predict", "--backend", "onnx", video)
    assert_one_line_error(code, err, "pip install 'actscope[onnx]'")


def test_export_refuses_an_onnx_input_and_a_bad_suffix(default_onnx, tmp_path, capsys):
    code, _, err = run_cli(capsys, "export", str(default_onnx), "-o", str(tmp_path / "m.onnx"))
    assert_one_line_error(code, err, "already an ONNX model")
    code, _, err = run_cli(capsys, "export", "default", "-o", str(tmp_path / "m.pt"))
    assert_one_line_error(code, err, "give a .onnx file")
    code, _, err = run_cli(
        capsys, "export", "default", "--num-classes", "3", "-o", str(tmp_path / "m.onnx")
    )
    assert_one_line_error(code, err, "default has its own weights and classes")
    assert not list(tmp_path.iterdir())
