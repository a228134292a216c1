"""``actscope batch``: one task (predict, detect, pose) over many video files, locally or on a
Ray cluster, into one Parquet file; resumable, and safe to kill at any moment.

``run_batch(inputs, output, task=..., engine=...)`` is the library call; ``pyarrow`` (and
``ray`` for ``engine="ray"``) come with ``pip install 'actscope[batch]'``. Nothing here
imports either at ``import actscope``.
"""

from __future__ import annotations

from actscope.batch.run import BatchSummary, run_batch
from actscope.batch.work import TASKS, BatchSettings

__all__ = ["TASKS", "BatchSettings", "BatchSummary", "run_batch"]
