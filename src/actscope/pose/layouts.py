"""Joint layouts: joint names, bones, left/right pairs, centre, and how each maps to ``body15``.

Every layout names its joints in the order its source stores them and says how to compute
each joint of the shared layout ``body15`` from its own joints (see :data:`BODY15_JOINTS`).
Joint names follow one vocabulary (``left_shoulder``, ``right_knee``, ...) so left/right
pairs are found from the names, never listed by hand.

``left`` and ``right`` are always the person's own (anatomical) left and right.

Axis conventions (signs that map a layout's own axes onto the canonical ones, see
:mod:`actscope.pose.convert`):

- canonical (``body15``, and every ``normalized`` skeleton): x towards the viewer's right
  in an unmirrored image, y up, z towards the camera (right-handed). A person facing the
  camera has their left shoulder at larger x than their right shoulder.
- ``image`` space of every other layout: pixels, x right, y down.
- ``world`` space: Kinect v1/v2 camera space (metres, x towards the sensor's left, y up,
  z away from the sensor; the x direction was checked on UTD-MHAD against OpenPose on its
  RGB videos, see docs/pose.md), MediaPipe world landmarks (metres, x right, y down,
  z away from the camera, origin between the hips).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from actscope.errors import PoseError

BODY15_JOINTS: tuple[str, ...] = (
    "head",
    "neck",
    "pelvis",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_hip",
    "right_knee",
    "right_ankle",
)

# Joints every layout maps one-to-one onto the body15 joint of the same name.
_LIMBS = tuple(j for j in BODY15_JOINTS if j.startswith(("left_", "right_")))

Alternatives = tuple[tuple[str, ...], ...]


@dataclass(frozen=True, eq=False)
class Layout:
    """A named joint layout.

    ``edges`` are bones as ``(parent, child)`` joint indices; ``center`` the joints whose
    mean is the body centre; ``world_axes`` the signs mapping the source's 3D world axes onto
    the canonical axes (``None`` when the source gives no 3D world coordinates);
    ``to_body15`` maps each body15 joint to alternatives tried in order, each a tuple of this
    layout's joint names to average (a joint absent from the dict is missing in this source).
    """

    name: str
    joints: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    center: tuple[int, ...]
    world_axes: tuple[int, int, int] | None
    to_body15: dict[str, Alternatives] = field(repr=False)
    description: str = ""

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        """Index of ``joint``; a :class:`PoseError` names the layout's joints when absent."""
        try:
            return self.joints.index(joint)
        except ValueError:
            raise PoseError(
                f"layout {self.name!r} has no joint {joint!r}; its joints: {', '.join(self.joints)}"
            ) from None

    @property
    def flip_pairs(self) -> tuple[tuple[int, int], ...]:
        """``(left, right)`` index pairs: joints named ``left_X`` and ``right_X``."""
        pairs = []
        for i, name in enumerate(self.joints):
            if name.startswith("left_"):
                partner = "right_" + name[len("left_") :]
                if partner in self.joints:
                    pairs.append((i, self.joints.index(partner)))
        return tuple(pairs)

    @property
    def flip_permutation(self) -> tuple[int, ...]:
        """Joint order that swaps every left joint with its right partner."""
        order = list(range(self.num_joints))
        for left, right in self.flip_pairs:
            order[left], order[right] = right, left
        return tuple(order)


def _make(
    name: str,
    joints: tuple[str, ...],
    bones: tuple[tuple[str, str], ...],
    center: tuple[str, ...],
    world_axes: tuple[int, int, int] | None,
    to_body15: dict[str, Alternatives],
    description: str,
) -> Layout:
    index = {joint: i for i, joint in enumerate(joints)}
    assert len(index) == len(joints), f"{name}: duplicate joint names"
    for target, alternatives in to_body15.items():
        assert target in BODY15_JOINTS, f"{name}: {target} is not a body15 joint"
        assert all(j in index for alt in alternatives for j in alt), f"{name}: bad {target}"
    return Layout(
        name=name,
        joints=joints,
        edges=tuple((index[a], index[b]) for a, b in bones),
        center=tuple(index[j] for j in center),
        world_axes=world_axes,
        to_body15=to_body15,
        description=description,
    )


def _side(side: str, parts: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{side}_{part}" for part in parts)


def _limb_bones(
    root_arm: str, root_leg: str, arm: tuple[str, ...], leg: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    """Bones down both arms from ``root_arm`` and both legs from ``root_leg``."""
    bones: list[tuple[str, str]] = []
    for side in ("left", "right"):
        for root, chain in ((root_arm, arm), (root_leg, leg)):
            names = (root, *_side(side, chain))
            bones += list(itertools.pairwise(names))
    return tuple(bones)


def _one_to_one(*names: str) -> dict[str, Alternatives]:
    return {name: ((name,),) for name in names}


_ARM = ("shoulder", "elbow", "wrist")
_LEG = ("hip", "knee", "ankle")
# Pelvis and neck are the mid-hip and mid-shoulder points for every source, so that the
# torso (neck to pelvis), which normalisation divides by, means the same everywhere. A
# source's own centre joints (Kinect's hip_center, OpenPose's neck) are only fallbacks: on
# MSR Action3D, for one, Kinect's centre joints have confidence 0 in about 90% of frames.
_MID_HIPS = ("left_hip", "right_hip")
_MID_SHOULDERS = ("left_shoulder", "right_shoulder")
# When one shoulder (hip) is not placed at all (the far side of a person seen from the side,
# in hand-annotated sets), the other stands in for the midpoint: a few centimetres off, where
# no neck (pelvis) would leave the whole pose without its reference.
_ONE_SHOULDER: tuple[tuple[str, ...], ...] = (("left_shoulder",), ("right_shoulder",))
_ONE_HIP: tuple[tuple[str, ...], ...] = (("left_hip",), ("right_hip",))
# Head from a face: the ears' midpoint lies near the centre of the skull, where Kinect puts
# its head joint; the nose (on the face's surface, lower) is the fallback when an ear is
# missing, as in profile views.
_FACE_HEAD: Alternatives = (("left_ear", "right_ear"), ("nose",))

BODY15 = _make(
    "body15",
    BODY15_JOINTS,
    (("pelvis", "neck"), ("neck", "head"), *_limb_bones("neck", "pelvis", _ARM, _LEG)),
    ("pelvis",),
    (1, 1, 1),
    _one_to_one(*BODY15_JOINTS),
    "Shared body layout every source converts to; canonical axes (x right, y up, z towards "
    "the camera).",
)

_KINECT_V1_JOINTS = (
    "hip_center",
    "spine",
    "shoulder_center",
    "head",
    *_side("left", ("shoulder", "elbow", "wrist", "hand")),
    *_side("right", ("shoulder", "elbow", "wrist", "hand")),
    *_side("left", ("hip", "knee", "ankle", "foot")),
    *_side("right", ("hip", "knee", "ankle", "foot")),
)
KINECT_V1_20 = _make(
    "kinect_v1_20",
    _KINECT_V1_JOINTS,
    (
        ("hip_center", "spine"),
        ("spine", "shoulder_center"),
        ("shoulder_center", "head"),
        *_limb_bones(
            "shoulder_center",
            "hip_center",
            ("shoulder", "elbow", "wrist", "hand"),
            ("hip", "knee", "ankle", "foot"),
        ),
    ),
    ("hip_center",),
    (-1, 1, -1),
    {
        "head": (("head",),),
        "neck": (_MID_SHOULDERS, ("shoulder_center",), *_ONE_SHOULDER),
        "pelvis": (_MID_HIPS, ("hip_center",), *_ONE_HIP),
        **_one_to_one(*_LIMBS),
    },
    "Kinect v1 SDK order (NUI_SKELETON_POSITION_*), 20 joints; UTD-MHAD and MSR Action3D "
    "store other orders and are reordered to this one when loaded.",
)

_NTU_JOINTS = (
    "spine_base",
    "spine_mid",
    "neck",
    "head",
    *_side("left", ("shoulder", "elbow", "wrist", "hand")),
    *_side("right", ("shoulder", "elbow", "wrist", "hand")),
    *_side("left", ("hip", "knee", "ankle", "foot")),
    *_side("right", ("hip", "knee", "ankle", "foot")),
    "spine_shoulder",
    "left_hand_tip",
    "left_thumb",
    "right_hand_tip",
    "right_thumb",
)
NTU25 = _make(
    "ntu25",
    _NTU_JOINTS,
    (
        ("spine_base", "spine_mid"),
        ("spine_mid", "spine_shoulder"),
        ("spine_shoulder", "neck"),
        ("neck", "head"),
        *_limb_bones(
            "spine_shoulder",
            "spine_base",
            ("shoulder", "elbow", "wrist", "hand"),
            ("hip", "knee", "ankle", "foot"),
        ),
        ("left_hand", "left_hand_tip"),
        ("left_hand", "left_thumb"),
        ("right_hand", "right_hand_tip"),
        ("right_hand", "right_thumb"),
    ),
    ("spine_base",),
    (-1, 1, -1),
    {
        "head": (("head",),),
        # Kinect v2's "neck" sits above the shoulders; spine_shoulder (between them) is the
        # fallback when a shoulder is missing.
        "neck": (_MID_SHOULDERS, ("spine_shoulder",), *_ONE_SHOULDER),
        "pelvis": (_MID_HIPS, ("spine_base",), *_ONE_HIP),
        **_one_to_one(*_LIMBS),
    },
    "Kinect v2 order as stored by NTU RGB+D, 25 joints.",
)

_MEDIAPIPE_JOINTS = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)


def _face_bones(eyes: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    bones: list[tuple[str, str]] = []
    for side in ("left", "right"):
        names = ("nose", *_side(side, eyes), f"{side}_ear")
        bones += list(itertools.pairwise(names))
    return tuple(bones)


_TORSO_BOX = (
    ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"),
    ("left_hip", "right_hip"),
)


def _arms_and_legs() -> tuple[tuple[str, str], ...]:
    bones: list[tuple[str, str]] = []
    for side in ("left", "right"):
        for chain in (_ARM, _LEG):
            names = _side(side, chain)
            bones += list(itertools.pairwise(names))
    return tuple(bones)


def _mediapipe_extremities() -> tuple[tuple[str, str], ...]:
    bones: list[tuple[str, str]] = []
    for side in ("left", "right"):
        wrist, ankle = f"{side}_wrist", f"{side}_ankle"
        bones += [(wrist, f"{side}_{part}") for part in ("pinky", "index", "thumb")]
        bones += [(f"{side}_pinky", f"{side}_index")]
        bones += [(ankle, f"{side}_heel"), (ankle, f"{side}_foot_index")]
        bones += [(f"{side}_heel", f"{side}_foot_index")]
    return tuple(bones)


_FACE_DERIVED = {
    "head": _FACE_HEAD,
    "neck": (_MID_SHOULDERS, *_ONE_SHOULDER),
    "pelvis": (_MID_HIPS, *_ONE_HIP),
    **_one_to_one(*_LIMBS),
}

MEDIAPIPE33 = _make(
    "mediapipe33",
    _MEDIAPIPE_JOINTS,
    (
        *_face_bones(("eye_inner", "eye", "eye_outer")),
        ("mouth_left", "mouth_right"),
        # MediaPipe draws the face apart from the body; these join them into one graph
        ("nose", "mouth_left"),
        ("nose", "mouth_right"),
        ("left_ear", "left_shoulder"),
        ("right_ear", "right_shoulder"),
        *_TORSO_BOX,
        *_arms_and_legs(),
        *_mediapipe_extremities(),
    ),
    _MID_HIPS,
    (1, -1, -1),
    _FACE_DERIVED,
    "MediaPipe Pose (BlazePose) landmarks, 33 joints.",
)

COCO17 = _make(
    "coco17",
    (
        "nose",
        "left_eye",
        "right_eye",
        "left_ear",
        "right_ear",
        *(f"{side}_{part}" for part in _ARM + _LEG for side in ("left", "right")),
    ),
    (
        *_face_bones(("eye",)),
        ("left_ear", "left_shoulder"),
        ("right_ear", "right_shoulder"),
        *_TORSO_BOX,
        *_arms_and_legs(),
    ),
    _MID_HIPS,
    None,
    _FACE_DERIVED,
    "COCO keypoints, 17 joints (also MoveNet's and most 2D estimators' order).",
)

OPENPOSE18 = _make(
    "openpose18",
    (
        "nose",
        "neck",
        *_side("right", _ARM),
        *_side("left", _ARM),
        *_side("right", _LEG),
        *_side("left", _LEG),
        "right_eye",
        "left_eye",
        "right_ear",
        "left_ear",
    ),
    (
        ("neck", "nose"),
        *_face_bones(("eye",)),
        *_limb_bones("neck", "neck", _ARM, _LEG),
    ),
    _MID_HIPS,
    None,
    {**_FACE_DERIVED, "neck": (_MID_SHOULDERS, ("neck",), *_ONE_SHOULDER)},
    "OpenPose COCO-18 keypoints (COCO's 17 reordered, plus a neck between the shoulders).",
)

JHMDB15 = _make(
    "jhmdb15",
    (
        "neck",
        "belly",
        "face",
        "right_shoulder",
        "left_shoulder",
        "right_hip",
        "left_hip",
        "right_elbow",
        "left_elbow",
        "right_knee",
        "left_knee",
        "right_wrist",
        "left_wrist",
        "right_ankle",
        "left_ankle",
    ),
    (("neck", "face"), ("neck", "belly"), *_limb_bones("neck", "belly", _ARM, _LEG)),
    _MID_HIPS,
    None,
    {
        "head": (("face",),),
        "neck": (_MID_SHOULDERS, ("neck",), *_ONE_SHOULDER),
        "pelvis": (_MID_HIPS, *_ONE_HIP),
        **_one_to_one(*_LIMBS),
    },
    "JHMDB's 2D puppet joints, 15, in its files' order (checked by drawing frames, and by the "
    "right wrist moving more in throws and waves, docs/datasets/).",
)

PENN13 = _make(
    "penn13",
    (
        "head",
        *(f"{side}_{part}" for part in _ARM + _LEG for side in ("left", "right")),
    ),
    (
        ("head", "left_shoulder"),
        ("head", "right_shoulder"),
        *_TORSO_BOX,
        *_arms_and_legs(),
    ),
    _MID_HIPS,
    None,
    {
        "head": (("head",),),
        "neck": (_MID_SHOULDERS, *_ONE_SHOULDER),
        "pelvis": (_MID_HIPS, *_ONE_HIP),
        **_one_to_one(*_LIMBS),
    },
    "Penn Action's 13 joints in its documented order (head, then shoulders, elbows, wrists, "
    "hips, knees, ankles, left before right). Its files label the person's right side "
    "'left'; the Penn Action loader swaps them back (docs/datasets/).",
)

OPENNI15 = _make(
    "openni15",
    (
        "head",
        "neck",
        "torso",
        *_side("left", ("shoulder", "elbow", "hand")),
        *_side("right", ("shoulder", "elbow", "hand")),
        *_side("left", ("hip", "knee", "foot")),
        *_side("right", ("hip", "knee", "foot")),
    ),
    (
        ("head", "neck"),
        ("neck", "torso"),
        *_limb_bones("neck", "torso", ("shoulder", "elbow", "hand"), ("hip", "knee", "foot")),
    ),
    _MID_HIPS,
    (-1, 1, -1),
    {
        "head": (("head",),),
        "neck": (_MID_SHOULDERS, ("neck",), *_ONE_SHOULDER),
        "pelvis": (_MID_HIPS, *_ONE_HIP),
        **_one_to_one(*(j for j in _LIMBS if not j.endswith(("wrist", "ankle")))),
        # OpenNI's hand and foot sit where others put the wrist and ankle: on SBU the
        # elbow-hand bone is 0.28 m (a forearm) and the knee-foot bone 0.41 m (a shin).
        "left_wrist": (("left_hand",),),
        "right_wrist": (("right_hand",),),
        "left_ankle": (("left_foot",),),
        "right_ankle": (("right_foot",),),
    },
    "OpenNI/NITE skeleton, 15 joints, as SBU Kinect Interaction stores it; world axes as "
    "Kinect's camera space (x towards the sensor's left, y up, z away), which SBU's "
    "de-normalised coordinates follow (checked on its interactions, docs/datasets/).",
)

LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        BODY15,
        KINECT_V1_20,
        NTU25,
        MEDIAPIPE33,
        COCO17,
        OPENPOSE18,
        JHMDB15,
        PENN13,
        OPENNI15,
    )
}


def get_layout(name: str | Layout) -> Layout:
    """The layout called ``name``; a :class:`PoseError` lists the known names otherwise."""
    if isinstance(name, Layout):
        return name
    try:
        return LAYOUTS[name]
    except KeyError:
        raise PoseError(
            f"unknown joint layout {name!r}; known layouts: {', '.join(sorted(LAYOUTS))}"
        ) from None
