"""MediaPipe Pose (BlazePose GHUM, full model) as a :class:`~actscope.pose.PoseEstimator`.

Uses ``mediapipe.solutions.pose`` with ``model_complexity=1``, whose weights
(``pose_landmark_full.tflite``) ship inside the mediapipe 0.10.21 wheel: nothing is
downloaded. (Complexity 0 and 2 would try to download their weights; they are not offered.)
In video mode the landmark model tracks the person from frame to frame and runs the person
detector only when it loses them. One person per frame.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

import numpy as np

from actscope.errors import PoseError
from actscope.pose.estimator import PoseFrame
from actscope.pose.layouts import MEDIAPIPE33

_JOINTS = MEDIAPIPE33.num_joints
_BLANK = np.zeros((64, 64, 3), np.uint8)


class MediaPipePose:
    """Single-person 33-landmark pose estimator (``mediapipe33`` layout).

    ``estimate`` returns image keypoints in pixels and world keypoints in metres (MediaPipe's
    axes: x right, y down, z away from the camera, origin between the hips), both scored by
    the landmark's visibility. ``static_image_mode=True`` runs the detector on every frame
    (unrelated photos); the default tracks through a video. ``smooth`` filters landmarks
    over time to reduce jitter.
    """

    name = "mediapipe-pose-full"
    layout = MEDIAPIPE33.name
    has_world = True

    def __init__(
        self,
        *,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        smooth: bool = True,
        static_image_mode: bool = False,
    ) -> None:
        self._options = {
            "static_image_mode": static_image_mode,
            "model_complexity": 1,
            "smooth_landmarks": smooth,
            "enable_segmentation": False,
            "min_detection_confidence": min_detection_confidence,
            "min_tracking_confidence": min_tracking_confidence,
        }
        self._pose = None
        self._fresh = True

    def _graph(self):
        if self._pose is None:
            try:
                from mediapipe.python.solutions import pose as mp_pose
            except ImportError as exc:  # pragma: no cover - a dependency of actscope
                raise PoseError(
                    f"MediaPipe is not importable ({exc}); reinstall actscope's dependencies"
                ) from exc
            with _quiet_native_logs():
                self._pose = mp_pose.Pose(**self._options)
            self._fresh = True
        return self._pose

    def estimate(self, image: np.ndarray) -> PoseFrame:
        """The person in ``image`` (RGB uint8 ``(H, W, 3)``), or nobody."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise PoseError(
                f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}"
            )
        graph = self._graph()
        if self._fresh:  # the first frame prints MediaPipe's start-up warnings
            with _quiet_native_logs():
                result = graph.process(image)
            self._fresh = False
        else:
            result = graph.process(image)
        if result.pose_landmarks is None:
            return PoseFrame(
                np.zeros((0, _JOINTS, 2), np.float32),
                np.zeros((0, _JOINTS), np.float32),
                np.zeros((0, _JOINTS, 3), np.float32),
                np.zeros((0, _JOINTS), np.float32),
            )
        height, width = image.shape[:2]
        landmarks = result.pose_landmarks.landmark
        keypoints = np.array([(p.x * width, p.y * height) for p in landmarks], np.float32)
        scores = np.array([p.visibility for p in landmarks], np.float32)
        world_marks = result.pose_world_landmarks.landmark
        world = np.array([(p.x, p.y, p.z) for p in world_marks], np.float32)
        world_scores = np.array([p.visibility for p in world_marks], np.float32)
        return PoseFrame(keypoints[None], scores[None], world[None], world_scores[None])

    def reset(self) -> None:
        """Start a new video: forget the tracked person and the smoothing state.

        Done by showing the graph an empty image: with nobody in it MediaPipe drops its
        track and resets its filters, which gave results identical to a new graph, in a
        fraction of the time of restarting the graph (150-250 ms measured here).
        """
        if self._pose is not None:
            self._pose.process(_BLANK)

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None

    def __enter__(self) -> MediaPipePose:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _StderrSilencer:
    """Silence stderr at the file-descriptor level while any thread is inside.

    MediaPipe's C++ code prints start-up notices there ("Created TensorFlow Lite XNNPACK
    delegate", feedback-tensor warnings) and no environment variable of this release turns
    them off. Nested and concurrent uses share one redirection; the last one out restores.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._saved: int | None = None

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        try:
            fd = sys.stderr.fileno()
        except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured)
            yield
            return
        with self._lock:
            if self._depth == 0:
                sys.stderr.flush()
                self._saved = os.dup(fd)
                with open(os.devnull, "w") as devnull:
                    os.dup2(devnull.fileno(), fd)
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._saved is not None:
                    os.dup2(self._saved, fd)
                    os.close(self._saved)
                    self._saved = None


_quiet_native_logs = _StderrSilencer()
