"""A batch's results on disk: parts written as files complete, combined into one Parquet file.

``results.parquet`` grows through ``results.parquet.parts/part-NNNNN.parquet``, each part
written atomically (:func:`actscope.files.atomic_path`) and holding every row of the files
in it. A run killed at any moment therefore leaves whole parts; the next run reads them,
skips the files done, and :meth:`ResultStore.combine` keeps each file's rows from the newest
place that holds it (the combined file is the oldest, then parts in number order), so a file
retried or run twice appears once. The combined file is replaced atomically, then the parts
are removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from actscope.batch.work import BatchSettings, Row, schema
from actscope.errors import ConfigError, OutputError
from actscope.files import atomic_path, check_writable

METADATA_KEY = b"actscope.batch"


class ResultStore:
    """The output file of a batch with ``settings``, its parts folder and what is done."""

    def __init__(self, output: str | os.PathLike, settings: BatchSettings) -> None:
        self.output = check_writable(output)
        self.settings = settings
        self.parts = self.output.with_name(self.output.name + ".parts")
        self.schema = schema(settings.task).with_metadata({METADATA_KEY: settings.to_json()})
        for stale in self.parts.glob(".part-*"):  # temporaries of a killed run
            stale.unlink(missing_ok=True)

    def sources(self) -> list[Path]:
        """The files holding results, oldest first: the combined output, then the parts."""
        older = [self.output] if self.output.exists() else []
        return older + sorted(self.parts.glob("part-*.parquet"))

    def statuses(self) -> dict[str, str]:
        """``{path: status}`` of every file with results, the newest status of each."""
        import pyarrow.parquet as pq

        found: dict[str, str] = {}
        for source in self.sources():
            self._check_settings(source)
            table = pq.read_table(source, columns=["path", "status"])
            found.update(zip(table["path"].to_pylist(), table["status"].to_pylist(), strict=True))
        return found

    def _check_settings(self, source: Path) -> None:
        import pyarrow.parquet as pq

        try:
            metadata = pq.read_schema(source).metadata or {}
        except OSError as exc:
            raise OutputError(
                f"{source}: not a Parquet file ({exc}); give another output"
            ) from None
        stored = metadata.get(METADATA_KEY)
        if stored is None:
            raise OutputError(f"{source}: not written by actscope batch; give another output")
        if json.loads(stored) != json.loads(self.settings.to_json()):
            raise ConfigError(
                f"{source}: holds results of other settings ({stored.decode()}); give another "
                "output file or the same settings"
            )

    def write_part(self, rows: list[Row]) -> Path:
        """Write ``rows`` (whole files only) as the next part, atomically."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        numbers = [int(p.stem.split("-")[1]) for p in self.parts.glob("part-*.parquet")]
        target = self.parts / f"part-{max(numbers, default=-1) + 1:05d}.parquet"
        table = pa.Table.from_pylist(rows, schema=self.schema)
        with atomic_path(target) as temp:
            pq.write_table(table, temp)
        return target

    @contextlib.contextmanager
    def writer(self, every: float = 5.0) -> Iterator[PartWriter]:
        """A :class:`PartWriter` that writes a part at most every ``every`` seconds, and what
        is left when the block ends (also on Ctrl-C)."""
        writer = PartWriter(self, every)
        try:
            yield writer
        finally:
            writer.flush()

    def combine(self) -> Any:
        """Write every file's newest rows into the output, sorted by path, atomically; remove
        the parts. Returns the combined :class:`pyarrow.Table`."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = [pq.read_table(source).cast(self.schema) for source in self.sources()]
        newest: dict[str, int] = {}
        for index, table in enumerate(tables):
            newest.update(dict.fromkeys(table["path"].to_pylist(), index))
        kept = [
            table.filter(pa.array([newest[p] == index for p in table["path"].to_pylist()]))
            for index, table in enumerate(tables)
        ]
        combined = pa.concat_tables([pa.Table.from_pylist([], schema=self.schema), *kept])
        order = sorted(range(combined.num_rows), key=combined["path"].to_pylist().__getitem__)
        combined = combined.take(pa.array(order, pa.int64()))
        with atomic_path(self.output) as temp:
            pq.write_table(combined, temp)
        for part in self.parts.glob("part-*.parquet"):
            part.unlink()
        with contextlib.suppress(OSError):
            self.parts.rmdir()
        return combined


class PartWriter:
    """Collects the rows of completed files and writes them as parts of a store."""

    def __init__(self, store: ResultStore, every: float) -> None:
        self.store = store
        self.every = every
        self.rows: list[Row] = []
        self.last = time.monotonic()

    def add(self, rows: list[Row]) -> None:
        """Add the rows of completed files; write a part if ``every`` seconds have passed."""
        self.rows += rows
        if time.monotonic() - self.last >= self.every:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.store.write_part(self.rows)
            self.rows = []
        self.last = time.monotonic()
