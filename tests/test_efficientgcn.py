"""EfficientGCN-B0 and its NTU RGB+D 60 weights: parity with the authors' code, the upstream
checkpoint format, the SHA-256 check of downloads.

``tests/data/efficientgcn_reference.npz`` holds inputs and the logits the authors' own code
gave for them with the published checkpoint (recorded by
``tests/data/make_efficientgcn_reference.py``). Upstream-format checkpoints that the tests
write use names produced by a walker written here from the authors' module tree
(``src/model/nets.py``, ``layers.py``, ``attentions.py``), independently of
:func:`actscope.models.efficientgcn.efficientgcn_from_official`. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import actscope.weights as weights
from actscope.errors import ModelError
from actscope.models import create_model, get_entry
from actscope.models.efficientgcn import (
    NTU60_CLASSES,
    NTU_BONE_PARENTS,
    EfficientGCN,
    hop_adjacency,
    ntu_graph,
    scaled_blocks,
)
from actscope.weights import download, load_pretrained
from realdata import shared_path

REFERENCE = Path(__file__).with_name("data") / "efficientgcn_reference.npz"
CHECKPOINT = ("weights", "efficientgcn_b0_ntu60", "2001_EfficientGCN-B0_ntu-xsub.pth.tar")
FILE_NAME = CHECKPOINT[-1]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(REFERENCE) as data:
        return {key: data[key] for key in data.files}


def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random values in every float parameter and buffer (adjacencies included); eval mode."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                values = torch.rand(tensor.shape, generator=generator)
                var = name.endswith("running_var")
                tensor.copy_(0.5 + values if var else (values - 0.5) * 0.4)
    return model.eval()


def skeletons(n: int = 2, frames: int = 40, seed: int = 0) -> torch.Tensor:
    """``(n, 3, frames, 25, 2)`` coordinates about 3 m from the camera; person 2 absent."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, frames, 25, 2, generator=generator) * 0.3
    x[:, 2] += 3.0
    x[..., 1] = 0
    return x


# --- the authors' names, from their module tree -----------------------------------------------


def _put(state: dict, prefix: str, module: nn.Module) -> None:
    for key, value in module.state_dict().items():
        state[f"{prefix}.{key}"] = value.clone()


def _put_graph_layer(state: dict, prefix: str, layer: nn.Module) -> None:
    # Spatial_Graph_Layer: conv (SpatialGraphConv: gcn, A, edge), bn, residual (Sequential)
    _put(state, f"{prefix}.conv.gcn", layer.graph.conv)
    state[f"{prefix}.conv.A"] = layer.graph.adjacency.transpose(1, 2).clone()
    state[f"{prefix}.conv.edge"] = layer.graph.importance.detach().transpose(1, 2).clone()
    _put(state, f"{prefix}.bn", layer.bn)
    if not isinstance(layer.shortcut, nn.Identity):
        _put(state, f"{prefix}.residual.0", layer.shortcut.conv)
        _put(state, f"{prefix}.residual.1", layer.shortcut.bn)


def _put_block(state: dict, prefix: str, index: int, block: nn.Module) -> None:
    # EfficientGCN_Blocks: block-i_scn, block-i_tcn-j (Temporal_Sep_Layer), block-i_att
    _put_graph_layer(state, f"{prefix}.block-{index}_scn", block.spatial)
    for j, layer in enumerate(block.temporal):
        tcn = f"{prefix}.block-{index}_tcn-{j}"
        for ours, theirs in [("expand", "expand_conv"), ("depthwise", "depth_conv")]:
            _put(state, f"{tcn}.{theirs}.0", getattr(layer, ours).conv)
            _put(state, f"{tcn}.{theirs}.1", getattr(layer, ours).bn)
        _put(state, f"{tcn}.point_conv.0", layer.pointwise.conv)
        _put(state, f"{tcn}.point_conv.1", layer.pointwise.bn)
        if not isinstance(layer.shortcut, nn.Identity):
            _put(state, f"{tcn}.residual.0", layer.shortcut.conv)
            _put(state, f"{tcn}.residual.1", layer.shortcut.bn)
    att = f"{prefix}.block-{index}_att"
    _put(state, f"{att}.att.fcn.0", block.attention.squeeze.conv)
    _put(state, f"{att}.att.fcn.1", block.attention.squeeze.bn)
    _put(state, f"{att}.att.conv_t", block.attention.frame)
    _put(state, f"{att}.att.conv_v", block.attention.joint)
    _put(state, f"{att}.bn", block.attention.bn)


def upstream_state(model: EfficientGCN) -> dict[str, torch.Tensor]:
    """``model``'s tensors under the authors' names (``EfficientGCN`` of ``nets.py``)."""
    state: dict[str, torch.Tensor] = {}
    for i, branch in enumerate(model.branches):
        prefix = f"input_branches.{i}"
        _put(state, f"{prefix}.init_bn", branch.input_bn)
        _put_graph_layer(state, f"{prefix}.stem_scn", branch.stem_graph)
        _put(state, f"{prefix}.stem_tcn.conv", branch.stem_temporal.conv)
        _put(state, f"{prefix}.stem_tcn.bn", branch.stem_temporal.bn)
        for j, block in enumerate(branch.blocks):
            _put_block(state, prefix, j, block)
    for j, block in enumerate(model.trunk):
        _put_block(state, "main_stream", j, block)
    # EfficientGCN_Classifier: gap, dropout, fc = Conv3d(C, classes, 1)
    state["classifier.fc.weight"] = model.fc.weight.detach()[:, :, None, None, None].clone()
    state["classifier.fc.bias"] = model.fc.bias.detach().clone()
    return state


def save_upstream(path: Path, state: dict[str, torch.Tensor]) -> Path:
    """A file laid out like the authors' checkpoints, numpy confusion matrix included."""
    torch.save(
        {
            "model": state,
            "optimizer": {"state": {}, "param_groups": [{"lr": 0.1}]},
            "scheduler": {"last_epoch": 3},
            "best_state": {"acc_top1": 0.5, "acc_top5": 0.9, "cm": np.eye(60)},
            "epoch": 3,
        },
        path,
    )
    return path


# --- architecture -------------------------------------------------------------------------------


def test_b0_blocks_and_graph_are_the_authors():
    # rescale_block of the authors' model/__init__.py with scale 0: round(0.5) == 0 layers.
    assert scaled_blocks(0) == ((48, 1, 0), (32, 1, 0), (64, 2, 1), (128, 2, 1))
    # connect_joint of their graphs.py (1-based there).
    upstream = [2, 2, 21, 3, 21, 5, 6, 7, 21, 9, 10, 11, 1, 13, 14, 15, 1, 17, 18, 19, 2, 23, 8]
    assert list(NTU_BONE_PARENTS) == [j - 1 for j in [*upstream, 25, 12]]
    adjacency = hop_adjacency(ntu_graph())
    assert adjacency.shape == (3, 25, 25)
    # Spine base: itself, 3 joints 1 bone away, 3 joints 2 away; 12 joints within 3 bones.
    assert adjacency[:, 0].gt(0).sum(dim=1).tolist() == [1, 3, 3]
    torch.testing.assert_close(adjacency[0, 0, 0], torch.tensor(1 / 12))


def test_builder_output_shape_and_registry_entry():
    entry = get_entry("efficientgcn_b0")
    assert entry.family == "skeleton"
    assert (entry.input.layout, entry.input.frames, entry.input.channels) == ("ntu25", 288, 3)
    assert entry.input.persons == 2
    [info] = entry.weights
    assert info.classes == NTU60_CLASSES and len(info.classes) == 60
    assert info.classes[0] == "drink water" and info.classes[54] == "hugging other person"
    assert "research" in info.licence and len(info.sha256) == 64
    model = create_model("efficientgcn_b0").eval()
    assert sum(p.numel() for p in model.parameters()) == 345_333  # the authors' trainable count
    seven = create_model("efficientgcn_b0", num_classes=7).eval()
    with torch.no_grad():
        assert model(skeletons(2, 40)).shape == (2, 60)
        assert seven(skeletons(1, 17)).shape == (1, 7)


def test_wrong_input_shape_is_one_clear_error():
    model = create_model("efficientgcn_b0").eval()
    with pytest.raises(ModelError, match=r"raw coordinates \(N, 3, T, 25, M\) .* \(1, 3, 30, 15"):
        model(torch.zeros(1, 3, 30, 15, 1))
    with pytest.raises(ModelError, match=r"T >= 2 frames, got \(1, 3, 1, 25, 2\)"):
        model(torch.zeros(1, 3, 1, 25, 2))


def test_branch_features_match_the_authors_feeder(reference):
    model = create_model("efficientgcn_b0")
    features = model.features(torch.from_numpy(reference["short_input"])[None])[0]
    np.testing.assert_allclose(features.numpy(), reference["short_features"], atol=1e-5)
    # The padded frames of the second person: zero joints and motion, bone angles of pi/2.
    assert features[2, 3:, 10:, :, 1].sub(np.pi / 2).abs().max() < 1e-6


# --- checkpoints ---------------------------------------------------------------------------------


@pytest.mark.real_data
def test_logits_match_the_authors_code_on_the_published_checkpoint(reference):
    loaded = load_pretrained("efficientgcn_b0", shared_path(*CHECKPOINT))
    assert loaded.classes == NTU60_CLASSES
    with torch.no_grad():
        logits = loaded.model(torch.from_numpy(reference["inputs"])).numpy()
    assert np.abs(logits - reference["logits"]).max() < 1e-4
    assert (logits.argmax(1) == reference["logits"].argmax(1)).all()


def test_upstream_format_checkpoint_loads_through_load_pretrained(tmp_path):
    source = randomize(create_model("efficientgcn_b0"), seed=3)
    # Named as the published file: its weights description gives the class names.
    path = save_upstream(tmp_path / FILE_NAME, upstream_state(source))
    loaded = load_pretrained("efficientgcn_b0", path)
    assert loaded.classes == NTU60_CLASSES
    x = skeletons(2, 24, seed=1)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), source(x), rtol=1e-5, atol=1e-5)


def test_upstream_checkpoint_under_another_name_numbers_its_classes(tmp_path):
    state = upstream_state(create_model("efficientgcn_b0", num_classes=5))
    loaded = load_pretrained("efficientgcn_b0", save_upstream(tmp_path / "mine.pth.tar", state))
    assert loaded.classes == ("0", "1", "2", "3", "4")


def test_wrong_shaped_checkpoint_is_one_line_model_error(tmp_path):
    state = upstream_state(create_model("efficientgcn_b0"))
    state["input_branches.1.stem_scn.conv.gcn.weight"] = torch.zeros(192, 3, 1, 1)
    path = save_upstream(tmp_path / "broken.pth.tar", state)
    with pytest.raises(ModelError) as error:
        load_pretrained("efficientgcn_b0", path)
    message = str(error.value)
    assert "\n" not in message
    assert "branches.1.stem_graph.graph.conv.weight (192, 3, 1, 1) vs (192, 6, 1, 1)" in message


def test_checkpoint_with_code_in_it_is_refused(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (print, ("this must not run",))

    state = upstream_state(create_model("efficientgcn_b0"))
    path = tmp_path / "exploit.pth.tar"
    torch.save({"model": state, "best_state": {"cm": Exploit()}}, path)
    with pytest.raises(ModelError, match="not a readable checkpoint"):
        load_pretrained("efficientgcn_b0", path)


# --- downloads ----------------------------------------------------------------------------------


@pytest.fixture
def hub_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(folder))
    return folder


def test_download_checks_the_sha256(tmp_path, hub_dir):
    good = tmp_path / "served" / "weights.pth"
    good.parent.mkdir()
    good.write_bytes(b"the published bytes" * 1000)
    digest = hashlib.sha256(good.read_bytes()).hexdigest()
    assert download(good.as_uri(), digest).read_bytes() == good.read_bytes()

    bad = tmp_path / "served" / "corrupt.pth"
    bad.write_bytes(b"the published bytes" * 999 + b"flipped bits")
    with pytest.raises(ModelError, match=r"corrupt \(sha256 [0-9a-f]{12}\.\.\., expected"):
        download(bad.as_uri(), digest)
    left = sorted(p.name for p in (hub_dir / "checkpoints").iterdir())
    assert left == ["weights.pth"]  # no corrupt copy, no partial file


def test_published_weights_are_checked_after_download(hub_dir, monkeypatch):
    fetched: list[str] = []

    def corrupt_download(url, dst, hash_prefix=None, progress=True):
        fetched.append(url)
        Path(dst).write_bytes(b"not the checkpoint")

    monkeypatch.setattr(torch.hub, "download_url_to_file", corrupt_download)
    with pytest.raises(ModelError, match="is corrupt"):
        load_pretrained("efficientgcn_b0")
    assert fetched == [get_entry("efficientgcn_b0").weights[0].source[len("url:") :]]
    assert fetched[0].startswith("https://raw.githubusercontent.com/coekmez/Hand-EffGCN/")
    assert not weights.cache_path(fetched[0]).exists()


# --- export -------------------------------------------------------------------------------------


def test_the_whole_model_exports_with_torch_export():
    """The branch features are part of the graph: raw coordinates in, logits out."""
    model = randomize(create_model("efficientgcn_b0"), seed=5)
    x = skeletons(1, 20, seed=2)
    program = torch.export.export(model, (x,))
    with torch.no_grad():
        torch.testing.assert_close(program.module()(x), model(x), rtol=1e-5, atol=1e-5)
