"""The README's worked example is real: its float32 GAE conforms, and the commands it lists exist."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

from verification.cli import build_parser
from verification.conformance import check

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_gae_example_conforms() -> None:
    text = README.read_text(encoding="utf-8")
    m = re.search(r"```python\n(# my_gae\.py.*?)```", text, re.S)
    assert m, "the README's my_gae.py example is missing"
    mod = ModuleType("my_gae")
    exec(compile(m.group(1), "README.md:my_gae.py", "exec"), mod.__dict__)  # noqa: S102 - our own README
    res = check("gae", mod.gae, examples=40, seed=0)
    assert res.conforms, res.message()


def test_readme_commands_exist() -> None:
    _, commands = build_parser()
    used = set(re.findall(r"python -m verification ([a-z]+)", README.read_text(encoding="utf-8")))
    assert used <= set(commands), f"README mentions commands that do not exist: {used - set(commands)}"
