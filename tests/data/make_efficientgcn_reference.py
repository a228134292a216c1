"""Record EfficientGCN-B0's outputs from the authors' own code, for tests/test_efficientgcn.py.

Usage (outside the repository's test run; nothing of the reference code is kept here)::

    git clone https://github.com/coekmez/Hand-EffGCN /tmp/Hand-EffGCN   # commit 87d7913
    python tests/data/make_efficientgcn_reference.py /tmp/Hand-EffGCN \\
        ../shared/data/weights/efficientgcn_b0_ntu60/2001_EfficientGCN-B0_ntu-xsub.pth.tar

REFERENCE is a checkout holding the authors' ``src/`` (``src/model``, ``src/dataset``: the
EfficientGCN code, MIT licence); it needs only torch and numpy. The script builds the
authors' model with the B0 NTU x-sub config (``ntu-xsub-2013.yaml``), loads the checkpoint's
``model`` state dict strictly, computes the input branches with the authors' feeder
(``NTU_Feeder.multi_input``) and writes ``tests/data/efficientgcn_reference.npz``:

- ``inputs`` ``(S, 3, 288, 25, 2)`` float32: raw NTU camera-space coordinates (metres), zero
  where nobody is; samples: three seeded random-walk skeletons (80 frames of one person;
  120 frames of two people; 288 frames of one person) and one generated real-looking person
  (standing 3.2 m from the camera, raising the right hand to the mouth, 100 frames, NTU
  bone lengths), each zero-padded to 288 frames as EfficientGCN's NTU data is;
- ``logits`` ``(S, 60)``: the reference model's outputs;
- ``short_input`` ``(3, 12, 25, 2)`` and ``short_features`` ``(3, 6, 12, 25, 2)``: the
  authors' joint/velocity/bone features of a short random input, to test the branch
  features on their own.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

FRAMES, JOINTS, PEOPLE = 288, 25, 2
OUT = Path(__file__).with_name("efficientgcn_reference.npz")

# The B0 config of ntu-xsub-2013.yaml (model_args), as the authors' initializer passes it.
MODEL_ARGS = {
    "stem_channel": 64,
    "block_args": [[48, 1, 0.5], [24, 1, 0.5], [64, 2, 1], [128, 2, 1]],
    "fusion_stage": 2,
    "act_type": "swish",
    "att_type": "stja",
    "layer_type": "Sep",
    "drop_prob": 0.25,
    "kernel_size": [5, 2],
    "scale_args": [1.2, 1.35],
    "expand_ratio": 2,
    "reduct_ratio": 4,
    "bias": True,
    "edge": True,
}

# A standing adult in NTU's joint order, metres, relative to the spine base; Kinect v2 camera
# axes (x towards the sensor's left, so the person's left side has negative x when facing
# the sensor; y up; z away from the sensor).
BODY = np.array(
    [
        [0.00, 0.00, 0.00],  # spine base
        [0.00, 0.29, 0.01],  # spine mid
        [0.00, 0.56, 0.02],  # neck
        [0.00, 0.71, 0.01],  # head
        [-0.17, 0.47, 0.03],  # left shoulder
        [-0.21, 0.21, 0.04],  # left elbow
        [-0.22, -0.03, 0.02],  # left wrist
        [-0.22, -0.10, 0.01],  # left hand
        [0.17, 0.47, 0.03],  # right shoulder
        [0.21, 0.21, 0.04],  # right elbow
        [0.22, -0.03, 0.02],  # right wrist
        [0.22, -0.10, 0.01],  # right hand
        [-0.08, -0.02, 0.00],  # left hip
        [-0.09, -0.43, 0.01],  # left knee
        [-0.09, -0.82, 0.04],  # left ankle
        [-0.09, -0.87, -0.06],  # left foot
        [0.08, -0.02, 0.00],  # right hip
        [0.09, -0.43, 0.01],  # right knee
        [0.09, -0.82, 0.04],  # right ankle
        [0.09, -0.87, -0.06],  # right foot
        [0.00, 0.49, 0.02],  # spine shoulder
        [-0.22, -0.17, 0.01],  # left hand tip
        [-0.19, -0.10, -0.02],  # left thumb
        [0.22, -0.17, 0.01],  # right hand tip
        [0.19, -0.10, -0.02],  # right thumb
    ],
    dtype=np.float64,
)
RIGHT_FOREARM = [10, 11, 23, 24]  # wrist, hand, tip, thumb: turn about the elbow


def random_walk(rng: np.random.Generator, frames: int, people: int) -> np.ndarray:
    """``(3, 288, 25, 2)``: ``people`` random bodies drifting and jittering for ``frames``
    frames, zero-padded."""
    out = np.zeros((3, FRAMES, JOINTS, PEOPLE), np.float32)
    for m in range(people):
        start = BODY + rng.normal(0, 0.05, BODY.shape) + [rng.uniform(-1, 1), 0.1, 3.0 + m]
        steps = rng.normal(0, 0.01, (frames, JOINTS, 3)).cumsum(axis=0)
        out[:, :frames, :, m] = (start + steps).transpose(2, 0, 1)
    return out


def drinking(frames: int = 100) -> np.ndarray:
    """``(3, 288, 25, 2)``: one person raising the right hand to the mouth and back."""
    out = np.zeros((3, FRAMES, JOINTS, PEOPLE), np.float32)
    elbow = BODY[9]
    for t in range(frames):
        lift = np.sin(np.pi * t / (frames - 1)) * 2.4  # forearm angle, radians
        c, s = np.cos(lift), np.sin(lift)
        # about the x axis, then a little towards the body's midline (about y)
        turn = np.array([[1, 0, 0], [0, c, s], [0, -s, c]])
        body = BODY.copy()
        body[RIGHT_FOREARM] = (body[RIGHT_FOREARM] - elbow) @ turn.T + elbow
        body[RIGHT_FOREARM, 0] -= 0.08 * np.sin(np.pi * t / (frames - 1))
        sway = 0.01 * np.sin(2 * np.pi * t / 40)
        out[:, t, :, 0] = (body + np.array([0.15 + sway, -0.05, 3.2])).T
    return out


def reference_model(repo: Path, checkpoint: Path):
    """The authors' EfficientGCN-B0 with the checkpoint's weights, and their feeder."""
    sys.path.insert(0, str(repo))
    from src import model as ref_model  # the authors' package (namespace "src")
    from src.dataset.graphs import Graph
    from src.dataset.ntu_feeder import NTU_Feeder

    graph = Graph("ntu-xsub")
    kwargs = {
        "data_shape": [3, 6, FRAMES, JOINTS, PEOPLE],
        "num_class": 60,
        "A": torch.Tensor(graph.A),
        "parts": graph.parts,
    }
    net = ref_model.create("EfficientGCN-B0", **MODEL_ARGS, **kwargs)
    numpy_globals = [
        np.core.multiarray.scalar,
        np.core.multiarray._reconstruct,
        np.ndarray,
        np.dtype,
        np.dtypes.Float64DType,
    ]
    with torch.serialization.safe_globals(numpy_globals):
        content = torch.load(checkpoint, map_location="cpu", weights_only=True)
    net.load_state_dict(content["model"], strict=True)
    net.eval()
    feeder = SimpleNamespace(conn=graph.connect_joint)

    def features(data: np.ndarray) -> np.ndarray:
        joint, velocity, bone = NTU_Feeder.multi_input(feeder, data)
        return np.stack([joint, velocity, bone])  # (3, 6, T, V, M), float64

    return net, features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path, help="checkout of the authors' code (src/)")
    parser.add_argument("checkpoint", type=Path, help="2001_EfficientGCN-B0_ntu-xsub.pth.tar")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(1)
    net, features = reference_model(args.reference, args.checkpoint)

    rng = np.random.default_rng(2024)
    inputs = np.stack(
        [
            random_walk(rng, 80, 1),
            random_walk(rng, 120, 2),
            random_walk(rng, FRAMES, 1),
            drinking(),
        ]
    )
    with torch.no_grad():
        # As the authors' processor does: features in float64, then float32 into the model.
        batch = torch.from_numpy(np.stack([features(x) for x in inputs])).float()
        logits, _ = net(batch)
    short = rng.normal(0, 1, (3, 12, JOINTS, PEOPLE)).astype(np.float32)
    short[:, 9:, :, 1] = 0  # the second person leaves: zeros, as in NTU's files
    np.savez_compressed(
        args.out,
        inputs=inputs,
        logits=logits.numpy(),
        short_input=short,
        short_features=features(short).astype(np.float32),
    )
    top = logits.argmax(1).tolist()
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB); top-1 classes {top}")


if __name__ == "__main__":
    main()
