"""Action segments: the :class:`Segment` type, temporal IoU, non-maximum suppression, and
reading and writing segments as JSON, CSV and SRT subtitles.

Times are seconds from the start of the video. Files are written atomically.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from actscope.errors import ActscopeError

CSV_FIELDS = ("video", "start", "end", "label", "score")


class SegmentFileError(ActscopeError):
    """A segments file (predictions or ground truth) cannot be read."""


@dataclass(frozen=True)
class Segment:
    """An action from ``start`` to ``end`` seconds, its ``label`` and confidence ``score``."""

    start: float
    end: float
    label: str
    score: float = 1.0

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict:
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "label": self.label,
            "score": round(self.score, 4),
        }


def temporal_iou(segment: tuple[float, float], others: np.ndarray) -> np.ndarray:
    """IoU in time of ``segment = (start, end)`` with each row of ``others (N, 2)``: ``(N,)``."""
    others = np.asarray(others, np.float64).reshape(-1, 2)
    inter = np.clip(
        np.minimum(segment[1], others[:, 1]) - np.maximum(segment[0], others[:, 0]), 0, None
    )
    union = (segment[1] - segment[0]) + (others[:, 1] - others[:, 0]) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def nms(
    segments: Sequence[Segment], iou_threshold: float, *, per_label: bool = False
) -> list[Segment]:
    """Greedy non-maximum suppression: keep the best-scored segment, drop every remaining one
    overlapping it by more than ``iou_threshold`` (of any label, or of the same label with
    ``per_label``), repeat. Returns the kept segments in time order."""
    order = sorted(segments, key=lambda s: -s.score)
    kept: list[Segment] = []
    for candidate in order:
        rivals = [k for k in kept if not per_label or k.label == candidate.label]
        spans = np.array([(k.start, k.end) for k in rivals]).reshape(-1, 2)
        if not len(rivals) or temporal_iou((candidate.start, candidate.end), spans).max() <= (
            iou_threshold
        ):
            kept.append(candidate)
    return sorted(kept, key=lambda s: (s.start, s.end))


# --- writing ---------------------------------------------------------------------------


def segments_json(video: str, segments: Sequence[Segment], **extra: object) -> dict:
    """The JSON document of one video's segments: ``{"video", "segments": [...], **extra}``."""
    return {"video": video, **extra, "segments": [s.to_dict() for s in segments]}


def segments_csv(rows: Iterable[tuple[str, Segment]]) -> str:
    """CSV text with a header ``video,start,end,label,score``, one row per segment."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for video, s in rows:
        writer.writerow([video, f"{s.start:.3f}", f"{s.end:.3f}", s.label, f"{s.score:.4f}"])
    return buffer.getvalue()


def segments_srt(segments: Sequence[Segment]) -> str:
    """SubRip subtitles: one numbered cue per segment showing ``label (score)``."""
    cues = []
    for number, s in enumerate(sorted(segments, key=lambda s: s.start), 1):
        cues.append(
            f"{number}\n{srt_time(s.start)} --> {srt_time(s.end)}\n{s.label} ({s.score:.2f})\n"
        )
    return "\n".join(cues)


def srt_time(seconds: float) -> str:
    """``HH:MM:SS,mmm`` as SubRip writes times."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


# --- reading ---------------------------------------------------------------------------


def read_segments(path: str | os.PathLike) -> dict[str, list[Segment]]:
    """Segments per video from a JSON file (one ``{"video", "segments"}`` document, a list of
    them, or ``{"results": {video: [segments]}}``) or a CSV file with columns
    ``video,start,end,label[,score]``. A missing score counts as 1 (ground truth)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SegmentFileError(f"{path}: no such file; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SegmentFileError(f"{path}: cannot be read as text ({exc})") from None
    if path.suffix.lower() == ".csv":
        return _read_csv(path, text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SegmentFileError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); give the JSON that "
            "`actscope detect --json` writes, or a .csv"
        ) from None
    return _from_json(path, data)


def _from_json(path: Path, data: object) -> dict[str, list[Segment]]:
    if isinstance(data, Mapping) and isinstance(data.get("results"), Mapping):
        documents = [{"video": k, "segments": v} for k, v in data["results"].items()]
    elif isinstance(data, Mapping):
        documents = [data]
    elif isinstance(data, list):
        documents = data
    else:
        raise SegmentFileError(f"{path}: expected a JSON object or list of objects")
    found: dict[str, list[Segment]] = {}
    for number, doc in enumerate(documents):
        if not isinstance(doc, Mapping) or not isinstance(doc.get("segments"), list):
            raise SegmentFileError(
                f"{path}: document {number} has no 'segments' list; expected "
                '{"video": NAME, "segments": [{"start", "end", "label", "score"}]}'
            )
        video = str(doc.get("video", ""))
        segments = found.setdefault(video, [])
        for item in doc["segments"]:
            segments.append(_segment(path, item, f"{video or 'document ' + str(number)}"))
    return found


def _read_csv(path: Path, text: str) -> dict[str, list[Segment]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"start", "end", "label"} - set(reader.fieldnames or ())
    if missing:
        raise SegmentFileError(
            f"{path}: CSV lacks the column(s) {', '.join(sorted(missing))}; expected a header "
            "video,start,end,label,score"
        )
    found: dict[str, list[Segment]] = {}
    for line, row in enumerate(reader, 2):
        found.setdefault(row.get("video") or "", []).append(_segment(path, row, f"line {line}"))
    return found


def _segment(path: Path, item: object, where: str) -> Segment:
    if not isinstance(item, Mapping):
        raise SegmentFileError(f"{path}: {where}: a segment must be an object")
    try:
        start, end = float(item["start"]), float(item["end"])
        score = float(item["score"]) if item.get("score") not in (None, "") else 1.0
        label = str(item["label"])
    except KeyError as exc:
        raise SegmentFileError(f"{path}: {where}: a segment lacks {exc}") from None
    except (TypeError, ValueError) as exc:
        raise SegmentFileError(f"{path}: {where}: not a number ({exc})") from None
    if not (np.isfinite(start) and np.isfinite(end)) or end < start:
        raise SegmentFileError(f"{path}: {where}: end {end} is before start {start}")
    return Segment(start, end, label, score)
