"""The RGB model zoo: sizes match the published tables, shapes are right, metadata is sound.

Published figures (parameters with a 400-class head; compute in multiply-adds, the unit
the tables call "FLOPs"):

* PyTorchVideo model zoo (docs/source/model_zoo.md, Kinetics-400 table): X3D-XS/S/M 3.79 M
  params; SlowFast R50 8x8 34.57 M / 65.71 G, 4x16 34.48 M; I3D R50 8x8 28.04 M.
* PySlowFast MODEL_ZOO.md (X3D table): X3D-L 6.2 M params; X3D-XS/S/M/L 0.60/1.96/4.73/18.37
  GFLOPs at the default single-crop test input.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from actscope.errors import ModelError
from actscope.models import create_model, get_entry, list_models
from actscope.models.stats import MEASURED, measure
from actscope.models.tsm import temporal_shift
from actscope.video import ClipSpec

RGB = [e.name for e in list_models() if isinstance(e.input, ClipSpec)]
EXPECTED_RGB = {
    "r3d_18", "mc3_18", "r2plus1d_18", "s3d", "mvit_v1_b", "mvit_v2_s", "swin3d_t", "swin3d_s",
    "swin3d_b", "x3d_xs", "x3d_s", "x3d_m", "x3d_l", "slowfast_r50_8x8", "slowfast_r50_4x16",
    "i3d_r50", "tsn_r50", "tsm_r50", "timesformer_base", "videomae_base", "vivit_b",
}  # fmt: skip


pytestmark = pytest.mark.usefixtures("one_thread")


def on_meta(name: str, **kwargs) -> torch.nn.Module:
    with torch.device("meta"):
        return create_model(name, **kwargs).eval()


def params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_every_issue_model_is_registered():
    assert set(RGB) >= EXPECTED_RGB


@pytest.mark.parametrize(
    "name, published_millions",
    [("x3d_s", 3.79), ("x3d_m", 3.79), ("x3d_xs", 3.79), ("x3d_l", 6.2),
     ("slowfast_r50_8x8", 34.57), ("slowfast_r50_4x16", 34.48), ("i3d_r50", 28.04)],
)  # fmt: skip
def test_parameter_counts_match_published_tables(name, published_millions):
    assert params(on_meta(name)) / 1e6 == pytest.approx(published_millions, rel=0.01)


@pytest.mark.parametrize(
    "name, published_gmacs",
    [("x3d_xs", 0.60), ("x3d_s", 1.96), ("x3d_m", 4.73), ("x3d_l", 18.37),
     ("slowfast_r50_8x8", 65.71)],
)  # fmt: skip
def test_compute_matches_published_tables(name, published_gmacs):
    assert MEASURED[name].gmacs == pytest.approx(published_gmacs, rel=0.02)


@pytest.mark.parametrize("name", RGB)
def test_default_input_gives_logits_and_recorded_stats(name):
    """At the default input, on the meta device (shapes only): (N, classes) logits, and the
    parameter and compute counts `actscope models` shows are current."""
    entry = get_entry(name)
    spec = entry.input
    model = on_meta(name)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        logits = model(torch.empty(2, 3, spec.frames, spec.size, spec.size, device="meta"))
    assert logits.shape == (2, 400)
    stale = "stats.py is stale: run `benchmarks/bench_models.py --write-stats`"
    assert MEASURED[name].params == params(model), stale
    per_clip_macs = counter.get_total_flops() / 2 / 2  # two clips, two FLOPs per multiply-add
    assert MEASURED[name].gmacs == pytest.approx(per_clip_macs / 1e9, rel=1e-3), stale


# Real forward passes at reduced inputs where the architecture allows it (MViT's and S3D's
# fixed pooling/positional sizes need 224 x 224 and are covered on the meta device above).
SMALL = {
    "r3d_18": {}, "mc3_18": {}, "r2plus1d_18": {}, "swin3d_t": {}, "x3d_xs": {},
    "slowfast_r50_4x16": {}, "i3d_r50": {}, "tsn_r50": {}, "tsm_r50": {},
    "timesformer_base": dict(num_frames=8, image_size=32, patch_size=8, hidden_size=32,
                             num_layers=1, num_heads=2, intermediate_size=64),
    "videomae_base": dict(num_frames=8, image_size=32, patch_size=8, hidden_size=32,
                          num_layers=1, num_heads=2, intermediate_size=64),
    "vivit_b": dict(num_frames=8, image_size=32, tubelet_size=(2, 8, 8), hidden_size=32,
                    num_layers=1, num_heads=2, intermediate_size=64),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SMALL))
def test_real_forward_on_small_clip(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=7, **SMALL[name]).eval()
    with torch.no_grad():
        logits = model(torch.rand(2, 3, 8, 32, 32))
    assert logits.shape == (2, 7)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name", RGB)
def test_num_classes_sets_the_output_size(name):
    spec = get_entry(name).input
    with torch.no_grad():
        logits = on_meta(name, num_classes=5)(
            torch.empty(1, 3, spec.frames, spec.size, spec.size, device="meta")
        )
    assert logits.shape == (1, 5)


@pytest.mark.parametrize("name", RGB)
def test_entries_describe_input_and_weights(name):
    entry = get_entry(name)
    spec = entry.input
    assert spec.frames >= 1 and spec.stride >= 1 and spec.resize >= spec.size
    assert len(spec.mean) == len(spec.std) == 3 and all(0 < s < 1 for s in spec.std)
    assert entry.weights, "every RGB model lists its published weights"
    for info in entry.weights:
        assert info.source.split(":")[0] in {"torchvision", "url", "hf"}
        assert len(info.classes) == 400 and info.classes[:2] == ("abseiling", "air drumming")
        assert info.licence and info.dataset == "Kinetics-400"
    assert entry.summary


def test_temporal_shift_moves_one_fold_each_way():
    # 1 clip, 3 frames, 8 channels, 1x1 pixels; value = 10 * frame + channel.
    x = (10 * torch.arange(3.0)[:, None] + torch.arange(8.0)[None]).view(3, 8, 1, 1)
    shifted = temporal_shift(x, num_frames=3, shift_div=4).view(3, 8)
    # Channels 0-1 take the next frame's values (zero after the last frame).
    assert shifted[:, :2].tolist() == [[10, 11], [20, 21], [0, 0]]
    # Channels 2-3 take the previous frame's values (zero before the first frame).
    assert shifted[:, 2:4].tolist() == [[0, 0], [2, 3], [12, 13]]
    assert shifted[:, 4:].tolist() == x.view(3, 8)[:, 4:].tolist()


def test_tsn_is_blind_to_frame_order_and_tsm_is_not():
    torch.manual_seed(0)
    clip = torch.rand(1, 3, 8, 32, 32)
    reversed_clip = clip.flip(2)
    tsn, tsm = (create_model(n, num_classes=4).eval() for n in ("tsn_r50", "tsm_r50"))
    with torch.no_grad():
        torch.testing.assert_close(tsn(clip), tsn(reversed_clip))
        assert not torch.allclose(tsm(clip), tsm(reversed_clip))


def test_wrong_clip_lengths_are_model_errors():
    tsm = create_model("tsm_r50", num_classes=3).eval()
    with pytest.raises(ModelError, match="built for 8 frames, got 6"):
        tsm(torch.rand(1, 3, 6, 32, 32))
    slowfast = on_meta("slowfast_r50_8x8")
    with pytest.raises(ModelError, match="multiple of 4 frames, got 10"):
        slowfast(torch.empty(1, 3, 10, 64, 64, device="meta"))


def test_slowfast_slow_pathway_sees_every_alpha_th_frame():
    seen = {}
    model = on_meta("slowfast_r50_8x8")
    model.slow_stem.register_forward_hook(lambda m, args, out: seen.update(slow=args[0].shape))
    model.fast_stem.register_forward_hook(lambda m, args, out: seen.update(fast=args[0].shape))
    with torch.no_grad():
        model(torch.empty(1, 3, 32, 64, 64, device="meta"))
    assert seen["slow"][2] == 8 and seen["fast"][2] == 32


def test_measure_reproduces_the_recorded_stats():
    assert measure(get_entry("x3d_s")) == MEASURED["x3d_s"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "actscope", *args], capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_cli_models_lists_every_family_as_json():
    result = run_cli("models", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) >= EXPECTED_RGB
    x3d = rows["x3d_s"]
    assert x3d["family"] == "cnn3d" and x3d["params"] == MEASURED["x3d_s"].params
    assert x3d["gmacs"] == pytest.approx(1.96, rel=0.01)
    assert x3d["input"]["frames"] == 13 and x3d["input"]["stride"] == 6
    assert {w["name"] for w in x3d["weights"]} == {"kinetics400-pyslowfast",
                                                  "kinetics400-pytorchvideo"}  # fmt: skip
    assert all(isinstance(w["offline"], bool) for w in x3d["weights"])
    assert {row["family"] for row in rows.values()} >= {"cnn3d", "cnn2d", "transformer"}


def test_cli_models_table_filters_by_family():
    result = run_cli("models", "--family", "cnn2d")
    assert result.returncode == 0, result.stderr
    assert "tsm_r50" in result.stdout and "tsn_r50" in result.stdout
    assert "x3d_s" not in result.stdout and "GMACs" in result.stdout
    bad = run_cli("models", "--family", "nope")
    assert bad.returncode == 2 and "error:" in bad.stderr
