"""The project's own promises: CI runs the README's set-up commands, and imports stay light."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1).strip().splitlines()
    assert len(first_block) == 2, "README must start with exactly two set-up commands"
    ci = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        # .ci/ scripts install what only the tests need (a browser), not actscope
        if line and not line.startswith(("#", "set ", "cd ", ".ci/"))
    ]
    assert ci == first_block


def test_import_and_video_reading_do_not_import_torch():
    code = "import sys, actscope, actscope.video, actscope.cli; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_the_default_model_loads_without_torchvision():
    """torchvision (~160 MB) is for RGB models; a skeleton model must not pay for it."""
    code = (
        "import sys, actscope; actscope.load_model('default'); print('torchvision' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
