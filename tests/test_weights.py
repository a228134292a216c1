"""Published checkpoint formats load into actscope's models and give identical outputs.

Each test builds a model with random weights (batch-norm statistics included, so a swapped
layer shows), writes its tensors the way the upstream project stores them -- key names,
``model_state``/``state_dict`` nesting, Caffe2 blobs -- loads that file through actscope and
compares outputs. The upstream names are produced by walkers written here from the upstream
model code (PySlowFast ``video_model_builder.py``/``resnet_helper.py``/``stem_helper.py``,
PyTorchVideo ``create_x3d``/``create_resnet``/``create_slowfast``, PySlowFast
``c2_model_loading.py``, TSM ``ops/temporal_shift.py``), independently of
``actscope.models.convert``. Nothing is downloaded.
"""

from __future__ import annotations

import pickle
import urllib.error

import numpy as np
import pytest
import torch
from torch import nn

from actscope.errors import ModelError
from actscope.models import create_model
from actscope.models.i3d import I3D
from actscope.models.layers import BN_EPS
from actscope.models.slowfast import SlowFast
from actscope.models.tsm import TSM
from actscope.models.x3d import X3D
from actscope.weights import available_offline, load_pretrained, read_checkpoint

# --- helpers ------------------------------------------------------------------------------


pytestmark = pytest.mark.usefixtures("one_thread")


def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random values in every parameter and batch-norm buffer; eval mode."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            values = torch.rand(tensor.shape, generator=generator)
            if name.endswith("running_var"):
                tensor.copy_(0.5 + values)
            else:
                tensor.copy_((values - 0.5) * 0.4)
    return model.eval()


def outputs(model: nn.Module, clip: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(clip)


def assert_same(a: torch.Tensor, b: torch.Tensor) -> None:
    assert a.shape == b.shape
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def put(state: dict, prefix: str, module: nn.Module) -> None:
    for key, value in module.state_dict().items():
        state[f"{prefix}.{key}"] = value.clone()


# Bottleneck sub-modules of actscope -> upstream names (PySlowFast ResBlock/X3DTransform and
# PyTorchVideo ResBlock/BottleneckBlock).
def put_block_pyslowfast(state: dict, prefix: str, block: nn.Module) -> None:
    if block.shortcut is not None:
        put(state, f"{prefix}.branch1", block.shortcut.conv)
        put(state, f"{prefix}.branch1_bn", block.shortcut.bn)
    for ours, theirs in [("conv1", "a"), ("bn1", "a_bn"), ("conv2", "b"), ("bn2", "b_bn"),
                         ("conv3", "c"), ("bn3", "c_bn")]:  # fmt: skip
        put(state, f"{prefix}.branch2.{theirs}", getattr(block, ours))
    if block.se is not None:
        put(state, f"{prefix}.branch2.se.fc1", block.se.fc1)
        put(state, f"{prefix}.branch2.se.fc2", block.se.fc2)


def put_block_pytorchvideo(state: dict, prefix: str, block: nn.Module, x3d: bool) -> None:
    if block.shortcut is not None:
        put(state, f"{prefix}.branch1_conv", block.shortcut.conv)
        if not x3d or block.conv1.in_channels != block.conv3.out_channels:
            put(state, f"{prefix}.branch1_norm", block.shortcut.bn)
    put(state, f"{prefix}.branch2.conv_a", block.conv1)
    put(state, f"{prefix}.branch2.norm_a", block.bn1)
    put(state, f"{prefix}.branch2.conv_b", block.conv2)
    put(state, f"{prefix}.branch2.norm_b" + (".0" if x3d else ""), block.bn2)
    if block.se is not None:
        put(state, f"{prefix}.branch2.norm_b.1.block.0", block.se.fc1)
        put(state, f"{prefix}.branch2.norm_b.1.block.2", block.se.fc2)
    put(state, f"{prefix}.branch2.conv_c", block.conv3)
    put(state, f"{prefix}.branch2.norm_c", block.bn3)


def pyslowfast_x3d(model: X3D) -> dict:
    state: dict = {}
    put(state, "s1.pathway0_stem.conv_xy", model.stem.conv_xy)
    put(state, "s1.pathway0_stem.conv", model.stem.conv_t)
    put(state, "s1.pathway0_stem.bn", model.stem.bn)
    for s, stage in enumerate(model.stages):
        for j, block in enumerate(stage):
            put_block_pyslowfast(state, f"s{s + 2}.pathway0_res{j}", block)
    put(state, "head.conv_5", model.head.conv5)
    put(state, "head.conv_5_bn", model.head.bn5)
    put(state, "head.lin_5", model.head.lin5)
    put(state, "head.projection", model.head.fc)
    return state


def pytorchvideo_x3d(model: X3D) -> dict:
    state: dict = {}
    # create_x3d_stem puts the spatial conv in Conv2plus1d's conv_t slot and vice versa.
    put(state, "blocks.0.conv.conv_t", model.stem.conv_xy)
    put(state, "blocks.0.conv.conv_xy", model.stem.conv_t)
    put(state, "blocks.0.norm", model.stem.bn)
    for s, stage in enumerate(model.stages):
        for j, block in enumerate(stage):
            put_block_pytorchvideo(state, f"blocks.{s + 1}.res_blocks.{j}", block, x3d=True)
    put(state, "blocks.5.pool.pre_conv", model.head.conv5)
    put(state, "blocks.5.pool.pre_norm", model.head.bn5)
    put(state, "blocks.5.pool.post_conv", model.head.lin5)
    put(state, "blocks.5.proj", model.head.fc)
    return state


def pyslowfast_i3d(model: I3D) -> dict:
    state: dict = {}
    put(state, "s1.pathway0_stem.conv", model.stem.conv)
    put(state, "s1.pathway0_stem.bn", model.stem.bn)
    for s, layer in enumerate([model.layer1, model.layer2, model.layer3, model.layer4]):
        for j, block in enumerate(layer):
            put_block_pyslowfast(state, f"s{s + 2}.pathway0_res{j}", block)
    put(state, "head.projection", model.fc)
    return state


def pytorchvideo_i3d(model: I3D) -> dict:
    state: dict = {}
    put(state, "blocks.0.conv", model.stem.conv)
    put(state, "blocks.0.norm", model.stem.bn)
    # blocks.2 is the temporal max pool after the first stage.
    layers = [model.layer1, model.layer2, model.layer3, model.layer4]
    for index, layer in zip([1, 3, 4, 5], layers, strict=True):
        for j, block in enumerate(layer):
            put_block_pytorchvideo(state, f"blocks.{index}.res_blocks.{j}", block, x3d=False)
    put(state, "blocks.6.proj", model.fc)
    return state


def pyslowfast_slowfast(model: SlowFast) -> dict:
    state: dict = {}
    for p, stem in enumerate([model.slow_stem, model.fast_stem]):
        put(state, f"s1.pathway{p}_stem.conv", stem.conv)
        put(state, f"s1.pathway{p}_stem.bn", stem.bn)
    for k, fusion in enumerate(model.fusions):
        put(state, f"s{k + 1}_fuse.conv_f2s", fusion.conv)
        put(state, f"s{k + 1}_fuse.bn", fusion.bn)
    for p, layers in enumerate([model.slow_layers, model.fast_layers]):
        for s, layer in enumerate(layers):
            for j, block in enumerate(layer):
                put_block_pyslowfast(state, f"s{s + 2}.pathway{p}_res{j}", block)
    put(state, "head.projection", model.fc)
    return state


def pytorchvideo_slowfast(model: SlowFast) -> dict:
    state: dict = {}
    for p, stem in enumerate([model.slow_stem, model.fast_stem]):
        put(state, f"blocks.0.multipathway_blocks.{p}.conv", stem.conv)
        put(state, f"blocks.0.multipathway_blocks.{p}.norm", stem.bn)
    for k, fusion in enumerate(model.fusions):
        put(state, f"blocks.{k}.multipathway_fusion.conv_fast_to_slow", fusion.conv)
        put(state, f"blocks.{k}.multipathway_fusion.norm", fusion.bn)
    for p, layers in enumerate([model.slow_layers, model.fast_layers]):
        for s, layer in enumerate(layers):
            for j, block in enumerate(layer):
                prefix = f"blocks.{s + 1}.multipathway_blocks.{p}.res_blocks.{j}"
                put_block_pytorchvideo(state, prefix, block, x3d=False)
    put(state, "blocks.6.proj", model.fc)
    return state


def caffe2_blobs(model: nn.Module) -> dict[str, np.ndarray]:
    """SlowFast or I3D weights as PySlowFast's Caffe2 model zoo names them."""
    blobs: dict[str, np.ndarray] = {}

    def conv(name: str, module: nn.Module) -> None:
        blobs[f"{name}_w"] = module.weight.detach().numpy().copy()
        blobs[f"{name}_w_momentum"] = np.zeros_like(blobs[f"{name}_w"])  # optimiser state

    def bn(name: str, module: nn.BatchNorm3d) -> None:
        for leaf, tensor in [("s", module.weight), ("b", module.bias),
                             ("rm", module.running_mean), ("riv", module.running_var)]:  # fmt: skip
            blobs[f"{name}_{leaf}"] = tensor.detach().numpy().copy()

    def pathway(prefix: str, stem: nn.Module, layers: list[nn.Sequential]) -> None:
        conv(f"{prefix}conv1", stem.conv)
        bn(f"{prefix}res_conv1_bn", stem.bn)
        for s, layer in enumerate(layers):
            for j, block in enumerate(layer):
                name = f"{prefix}res{s + 2}_{j}"
                if block.shortcut is not None:
                    conv(f"{name}_branch1", block.shortcut.conv)
                    bn(f"{name}_branch1_bn", block.shortcut.bn)
                pairs = [(block.conv1, block.bn1), (block.conv2, block.bn2),
                         (block.conv3, block.bn3)]  # fmt: skip
                for letter, (c, b) in zip("abc", pairs, strict=True):
                    conv(f"{name}_branch2{letter}", c)
                    bn(f"{name}_branch2{letter}_bn", b)

    if isinstance(model, SlowFast):
        pathway("", model.slow_stem, list(model.slow_layers))
        pathway("t_", model.fast_stem, list(model.fast_layers))
        conv("t_pool1_subsample", model.fusions[0].conv)
        bn("t_pool1_subsample_bn", model.fusions[0].bn)
        for k in range(1, 4):
            last = len(model.fast_layers[k - 1]) - 1
            name = f"t_res{k + 1}_{last}_branch2c_bn_subsample"
            conv(name, model.fusions[k].conv)
            bn(f"{name}_bn", model.fusions[k].bn)
    else:
        pathway("", model.stem, [model.layer1, model.layer2, model.layer3, model.layer4])
    blobs["pred_w"] = model.fc.weight.detach().numpy().copy()
    blobs["pred_b"] = model.fc.bias.detach().numpy().copy()
    blobs["lr"] = np.array([0.1], dtype=np.float32)
    return blobs


def tsm_official(model: TSM) -> dict:
    state: dict = {}
    put(state, "module.base_model", model.backbone)
    put(state, "module.new_fc", model.fc)
    return state


def tiny_x3d() -> X3D:
    return X3D(10, width_factor=1.0, depth_factor=1.0, base_width=8, head_features=32)


def tiny_i3d() -> I3D:
    return I3D(10, width=8, depths=(2, 2, 2, 2))


def tiny_slowfast(**kwargs) -> SlowFast:
    return SlowFast(10, width=16, depths=(1, 2, 2, 1), **kwargs)


CLIP = torch.rand(2, 3, 8, 32, 32, generator=torch.Generator().manual_seed(1))


def identity_bn(bn: nn.BatchNorm3d) -> None:
    with torch.no_grad():
        bn.weight.fill_(1)
        bn.bias.zero_()
        bn.running_mean.zero_()
        bn.running_var.fill_(1 - BN_EPS)


# --- upstream names are the ones upstream code creates ------------------------------------


def test_upstream_walkers_match_shapes_read_from_upstream_code():
    with torch.device("meta"):  # shapes only
        x3d_s, slowfast_r50, i3d_r50 = (create_model(n) for n in ("x3d_s", "slowfast_r50_8x8",
                                                                  "i3d_r50"))  # fmt: skip
    x3d = pyslowfast_x3d(x3d_s)
    assert x3d["s1.pathway0_stem.conv_xy.weight"].shape == (24, 3, 1, 3, 3)
    assert x3d["s1.pathway0_stem.conv.weight"].shape == (24, 1, 5, 1, 1)  # channel-wise
    assert x3d["s2.pathway0_res0.branch2.b.weight"].shape == (54, 1, 3, 3, 3)
    assert x3d["s2.pathway0_res0.branch2.se.fc1.weight"].shape == (8, 54, 1, 1, 1)
    assert "s2.pathway0_res1.branch2.se.fc1.weight" not in x3d  # SE on every other block
    assert x3d["s5.pathway0_res6.branch2.se.fc1.weight"].shape == (32, 432, 1, 1, 1)
    assert "s4.pathway0_res10.branch2.c_bn.running_var" in x3d  # 11 blocks in res4
    assert x3d["head.lin_5.weight"].shape == (2048, 432, 1, 1, 1)
    slowfast = pyslowfast_slowfast(slowfast_r50)
    assert slowfast["s1_fuse.conv_f2s.weight"].shape == (16, 8, 7, 1, 1)
    assert slowfast["s2.pathway0_res0.branch1.weight"].shape == (256, 80, 1, 1, 1)
    assert slowfast["s4.pathway0_res0.branch2.a.weight"].shape == (256, 640, 3, 1, 1)
    assert slowfast["s3.pathway0_res0.branch2.a.weight"].shape == (128, 320, 1, 1, 1)
    assert slowfast["head.projection.weight"].shape == (400, 2304)
    i3d = pytorchvideo_i3d(i3d_r50)
    assert i3d["blocks.0.conv.weight"].shape == (64, 3, 5, 7, 7)
    assert i3d["blocks.3.res_blocks.0.branch2.conv_a.weight"].shape == (128, 256, 3, 1, 1)
    assert i3d["blocks.3.res_blocks.1.branch2.conv_a.weight"].shape == (128, 512, 1, 1, 1)
    assert i3d["blocks.5.res_blocks.1.branch2.conv_a.weight"].shape == (512, 2048, 3, 1, 1)
    assert i3d["blocks.6.proj.weight"].shape == (400, 2048)


# --- each format loads and reproduces the outputs ------------------------------------------

FORMATS = [
    ("x3d-pyslowfast", tiny_x3d, lambda m: {"model_state": pyslowfast_x3d(m), "epoch": 300,
                                             "cfg": "MODEL:\n  ARCH: x3d\n"}),
    ("x3d-pytorchvideo", tiny_x3d, lambda m: {"model_state": pytorchvideo_x3d(m)}),
    ("i3d-pyslowfast", tiny_i3d, lambda m: {"model_state": pyslowfast_i3d(m)}),
    ("i3d-pytorchvideo", tiny_i3d, lambda m: {"model_state": pytorchvideo_i3d(m)}),
    ("slowfast-pyslowfast", tiny_slowfast, lambda m: {"model_state": pyslowfast_slowfast(m)}),
    ("slowfast-pytorchvideo", tiny_slowfast,
     lambda m: {"model_state": {f"model.{k}": v for k, v in pytorchvideo_slowfast(m).items()}}),
]  # fmt: skip


@pytest.mark.parametrize("name, build, write", FORMATS, ids=[f[0] for f in FORMATS])
def test_upstream_checkpoint_reproduces_outputs(tmp_path, name, build, write):
    reference = randomize(build(), seed=3)
    if name == "x3d-pytorchvideo":
        # PyTorchVideo's X3D has no norm on the first stage's same-width shortcut.
        identity_bn(reference.stages[0][0].shortcut.bn)
    path = tmp_path / "upstream.pyth"
    torch.save(write(reference), path)

    from actscope.models.convert import load_checked, to_native

    fresh = build().eval()
    load_checked(fresh, to_native(fresh, read_checkpoint(path).state_dict), str(path))
    assert_same(outputs(fresh, CLIP), outputs(reference, CLIP))


@pytest.mark.parametrize("build", [tiny_slowfast, tiny_i3d], ids=["slowfast", "i3d"])
def test_caffe2_pickle_reproduces_outputs(tmp_path, build):
    reference = randomize(build(), seed=4)
    path = tmp_path / "SLOWFAST_8x8_R50.pkl"
    with path.open("wb") as handle:  # Python-2-era pickle, as the model zoo files are
        pickle.dump({"blobs": caffe2_blobs(reference)}, handle, protocol=2)

    from actscope.models.convert import load_checked, to_native

    fresh = build().eval()
    load_checked(fresh, to_native(fresh, read_checkpoint(path).state_dict), str(path))
    assert_same(outputs(fresh, CLIP), outputs(reference, CLIP))


def test_full_size_x3d_loads_through_load_pretrained(tmp_path):
    reference = randomize(create_model("x3d_s"), seed=5)
    path = tmp_path / "x3d_s.pyth"
    torch.save({"model_state": pyslowfast_x3d(reference), "epoch": 300}, path)
    loaded = load_pretrained("x3d_s", path)
    clip = torch.rand(1, 3, 4, 32, 32)
    assert_same(outputs(loaded.model, clip), outputs(reference, clip))
    assert len(loaded.classes) == 400 and loaded.classes[0] == "abseiling"
    assert not loaded.model.training


def test_tsm_official_checkpoint_loads(tmp_path):
    reference = randomize(create_model("tsm_r50"), seed=6)
    path = tmp_path / "TSM_kinetics_RGB_resnet50_shift8_blockres_avg_segment8_e50.pth"
    torch.save({"epoch": 50, "arch": "resnet50", "state_dict": tsm_official(reference),
                "best_prec1": np.float64(71.2)}, path)  # fmt: skip
    loaded = load_pretrained("tsm_r50", path)
    clip = torch.rand(1, 3, 8, 64, 64)
    assert_same(outputs(loaded.model, clip), outputs(reference, clip))


def test_torchvision_checkpoint_loads_directly(tmp_path):
    reference = randomize(create_model("mc3_18"), seed=7)
    path = tmp_path / "mc3_18-a90a0ba3.pth"
    torch.save(reference.state_dict(), path)
    loaded = load_pretrained("mc3_18", path)
    clip = torch.rand(1, 3, 4, 32, 32)
    assert_same(outputs(loaded.model, clip), outputs(reference, clip))


HF_TINY = {
    "timesformer_base": dict(num_frames=4, image_size=32, patch_size=8),
    "videomae_base": dict(num_frames=4, image_size=32, patch_size=8),
    "vivit_b": dict(num_frames=4, image_size=32, tubelet_size=(2, 8, 8)),
}


@pytest.mark.parametrize("name", sorted(HF_TINY))
def test_hugging_face_folder_loads(tmp_path, name):
    tiny = dict(num_classes=5, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64)
    reference = create_model(name, **tiny, **HF_TINY[name]).eval()
    reference.model.config.id2label = {i: f"action {i}" for i in range(5)}
    reference.model.save_pretrained(tmp_path)
    loaded = load_pretrained(name, tmp_path)
    clip = torch.rand(2, 3, 4, 32, 32)
    assert_same(outputs(loaded.model, clip), outputs(reference, clip))
    assert loaded.classes == tuple(f"action {i}" for i in range(5))


def test_hugging_face_folder_of_another_model_is_refused(tmp_path):
    other = create_model("videomae_base", num_classes=3, num_frames=4, image_size=32,
                         patch_size=8, hidden_size=16, num_layers=1, num_heads=1,
                         intermediate_size=16)  # fmt: skip
    other.model.save_pretrained(tmp_path)
    with pytest.raises(ModelError, match="'videomae' model, not 'timesformer'"):
        load_pretrained("timesformer_base", tmp_path)


def test_new_classes_replace_the_classifier(tmp_path):
    reference = randomize(create_model("x3d_xs"), seed=8)
    path = tmp_path / "x3d_xs.pyth"
    torch.save({"model_state": pyslowfast_x3d(reference)}, path)
    loaded = load_pretrained("x3d_xs", path, classes=["push-up", "squat", "lunge"])
    assert loaded.classes == ("push-up", "squat", "lunge")
    assert outputs(loaded.model, CLIP).shape == (2, 3)
    # The backbone kept the checkpoint's weights.
    torch.testing.assert_close(loaded.model.stem.conv_xy.weight, reference.stem.conv_xy.weight)


# --- errors ---------------------------------------------------------------------------------


def test_mismatching_checkpoint_names_missing_unexpected_and_misshaped_keys(tmp_path):
    state = pyslowfast_x3d(create_model("x3d_xs"))
    del state["s3.pathway0_res0.branch2.b_bn.weight"]
    state["s9.pathway0_res0.branch2.z.weight"] = torch.zeros(1)
    state["s2.pathway0_res0.branch2.a.weight"] = torch.zeros(3, 3, 1, 1, 1)
    path = tmp_path / "broken.pyth"
    torch.save({"model_state": state}, path)
    with pytest.raises(ModelError) as error:
        load_pretrained("x3d_xs", path)
    message = str(error.value)
    assert "\n" not in message
    assert "1 missing keys (stages.1.0.bn2.weight)" in message
    assert "1 unexpected keys (s9.pathway0_res0.branch2.z.weight)" in message
    assert "stages.0.0.conv1.weight (3, 3, 1, 1, 1) vs (54, 24, 1, 1, 1)" in message


def test_checkpoint_for_another_family_is_refused(tmp_path):
    path = tmp_path / "slowfast.pyth"
    torch.save({"model_state": pyslowfast_slowfast(tiny_slowfast())}, path)
    with pytest.raises(ModelError, match=r"does not fit X3D: .* missing keys"):
        load_pretrained("x3d_s", path)


def test_caffe2_pickle_cannot_run_code(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (print, ("this must not run",))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"blobs": {"conv1_w": Exploit()}}, protocol=2))
    with pytest.raises(ModelError, match="not a readable checkpoint"):
        read_checkpoint(path)


def test_unreadable_and_missing_files_are_model_errors(tmp_path):
    junk = tmp_path / "junk.pyth"
    junk.write_bytes(b"\x00not a checkpoint")
    with pytest.raises(ModelError, match="not a readable checkpoint"):
        load_pretrained("x3d_s", junk)
    with pytest.raises(ModelError, match="neither an existing file or folder nor known weights"):
        load_pretrained("x3d_s", tmp_path / "absent.pyth")


def test_offline_download_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def no_network(url, dst, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    with pytest.raises(ModelError, match="offline; download it on a machine with internet"):
        load_pretrained("x3d_s")  # PySlowFast's x3d_s.pyth
    with pytest.raises(ModelError, match=r"r3d_18-b3b3357e\.pth .*offline"):
        load_pretrained("r3d_18", "torchvision:R3D_18_Weights.KINETICS400_V1")
    assert not list(tmp_path.rglob("*.part")), "no half-written download may remain"
    assert not available_offline(create_entry_weights("x3d_s"))


def test_cached_download_is_used_offline(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", pytest.fail)
    reference = randomize(create_model("x3d_s"), seed=9)
    (tmp_path / "checkpoints").mkdir()
    torch.save({"model_state": pyslowfast_x3d(reference)}, tmp_path / "checkpoints/x3d_s.pyth")
    assert available_offline(create_entry_weights("x3d_s"))
    loaded = load_pretrained("x3d_s")
    clip = torch.rand(1, 3, 4, 32, 32)
    assert_same(outputs(loaded.model, clip), outputs(reference, clip))


def test_offline_hub_id_says_what_to_do(monkeypatch):
    import transformers

    import actscope.weights

    def not_cached(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files")

    monkeypatch.setattr(transformers.AutoConfig, "from_pretrained", not_cached)
    monkeypatch.setattr(actscope.weights, "_resolves", lambda host: False)  # no DNS: offline
    with pytest.raises(ModelError, match="not in the Hugging Face cache and you seem to be "
                       "offline; save it on a machine with internet"):  # fmt: skip
        load_pretrained("videomae_base")
    monkeypatch.setattr(actscope.weights, "_resolves", lambda host: True)  # DNS, but no route
    with pytest.raises(ModelError, match="cannot fetch MCG-NJU/videomae-base-finetuned-kinetics"):
        load_pretrained("videomae_base")


def create_entry_weights(name: str):
    from actscope.models import get_entry

    return get_entry(name).weights[0]
