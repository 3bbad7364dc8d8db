"""The README's worked example is real: its float32 GAE conforms, and the commands it lists exist."""

from __future__ import annotations

import re
from pathlib import Path

from verification.cli import build_parser
from verification.conformance import check

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_gae_example_conforms(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    m = re.search(r"```python\n(# my_gae\.py.*?)```", text, re.S)
    assert m, "the README's my_gae.py example is missing"
    (tmp_path / "my_gae.py").write_text(m.group(1), encoding="utf-8")
    res = check("gae", f"{tmp_path / 'my_gae.py'}:gae", examples=40, seed=0)  # as a user's file, in the default worker
    assert res.conforms, res.message()


def test_readme_commands_exist() -> None:
    _, commands = build_parser()
    used = set(re.findall(r"python -m verification ([a-z]+)", README.read_text(encoding="utf-8")))
    assert used <= set(commands), f"README mentions commands that do not exist: {used - set(commands)}"
