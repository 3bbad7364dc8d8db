"""The command line: exit codes, output shape, JSON report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from verification import all_claims
from verification.cli import main


def test_check_subset_passes(capsys: object) -> None:
    assert main(["check", "PG-SCORE-*", "RET-*"]) == 0


def test_check_unknown_pattern_is_usage_error() -> None:
    assert main(["check", "NO-SUCH-CLAIM"]) == 2


def test_bad_option_is_usage_error() -> None:
    assert main(["check", "--profile", "nope"]) == 2
    assert main([]) == 2


def test_list_prints_every_claim(capsys: "object") -> None:
    import pytest  # noqa: F401

    rc = main(["list"])
    assert rc == 0


def test_report_json_has_one_entry_per_claim(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert main(["report", "--format", "json", "--output", str(out), "PG-*"]) == 0
    doc = json.loads(out.read_text())
    ids = [c["id"] for c in doc["claims"]]
    assert ids == [c.id for c in all_claims() if c.id.startswith("PG-")]
    for entry in doc["claims"]:
        for key in ("statement", "section", "source", "method", "tolerance", "tolerance_reason", "result"):
            assert key in entry
        assert entry["result"]["status"] == "pass"
    assert {"numpy", "torch", "hypothesis"} <= set(doc["versions"])
    assert doc["seed"] == 0


def test_report_markdown_renders_every_selected_claim(tmp_path: Path) -> None:
    out = tmp_path / "r.md"
    assert main(["report", "--format", "md", "--output", str(out), "VF-*", "MDP-*"]) == 0
    text = out.read_text()
    for c in all_claims():
        if c.id.startswith(("VF-", "MDP-")):
            assert f"`{c.id}`" in text


def test_module_entry_point_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "verification", "list"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0
    assert f"{len(all_claims())} claims" in proc.stdout


def test_report_includes_errata_demonstrations(tmp_path: Path) -> None:
    from verification.errata import all_errata

    md = tmp_path / "r.md"
    assert main(["report", "--format", "md", "--output", str(md), "RET-*"]) == 0
    text = md.read_text()
    for e in all_errata():
        assert f"### {e.id} " in text
    js = tmp_path / "r.json"
    assert main(["report", "--format", "json", "--output", str(js), "RET-*"]) == 0
    doc = json.loads(js.read_text())
    assert [e["id"] for e in doc["errata"]] == [e.id for e in all_errata()]
    assert all(e["demonstration"]["demonstrated"] for e in doc["errata"])


def test_report_includes_conformance_of_diffed_implementations(tmp_path: Path) -> None:
    js = tmp_path / "r.json"
    rc = main([
        "report", "RET-*", "--no-errata", "--format", "json", "--output", str(js), "--examples", "20",
        "--diff", "returns=verification.conformance.examples:returns",
        "--diff", "returns=verification.mutants.s01_policy_gradient:_returns_wrong_power",
    ])
    assert rc == 1  # the second implementation does not conform
    doc = json.loads(js.read_text())
    verdicts = [(c["implementation"].split(":")[-1], c["conforms"]) for c in doc["conformance"]]
    assert verdicts == [("returns", True), ("_returns_wrong_power", False)]
    assert "RET-FAST-EQUALS-LITERAL" in doc["conformance"][1]["claims_broken"]


def test_report_diff_usage_errors() -> None:
    assert main(["report", "RET-*", "--diff", "nonsense"]) == 2
    assert main(["report", "RET-*", "--diff", "no_such_target=x:y"]) == 2
    assert main(["report", "RET-*", "--diff", "returns=no.such.module:fn"]) == 2


def test_report_writes_markdown_and_json_from_one_run(tmp_path: Path) -> None:
    md, js = tmp_path / "r.md", tmp_path / "r.json"
    assert main(["report", "RET-*", "MDP-*", "--output", str(md), "--json", str(js)]) == 0
    doc = json.loads(js.read_text())
    assert [c["id"] for c in doc["claims"]] == [c.id for c in all_claims() if c.id.startswith(("RET-", "MDP-"))]
    for c in doc["claims"]:
        assert f"`{c['id']}`" in md.read_text()
