"""The living documentation, as a product owner sees it: every scenario of the feature files
with its result from a real test run, rendered by headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gherkin.parser import Parser
from gherkin.token_scanner import TokenScanner

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As root, on a closed network: no sandbox, no background connections (they are refused).
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

pytestmark = [pytest.mark.e2e]


def _scenario_names() -> list[str]:
    names = []
    for path in sorted((ROOT / "features").glob("*.feature")):
        document: Any = Parser().parse(TokenScanner(path.read_text()))
        children = document["feature"]["children"]
        names += [child["scenario"]["name"] for child in children if "scenario" in child]
    return names


def _chromium(profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_the_page_shows_every_scenario_with_its_result_in_chromium(tmp_path: Path) -> None:
    assert Path(CHROMIUM).exists(), "chromium is not installed (make test installs it)"
    results = tmp_path / "cucumber.json"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/bdd",
         f"--cucumber-json={results}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=os.environ.copy(),
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    page = tmp_path / "features.html"
    subprocess.run(
        [sys.executable, ROOT / "scripts" / "living_docs.py", "--results", results, "--out", page],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip

    dom = _chromium(tmp_path / "profile", "--dump-dom", page.as_uri()).stdout
    names = _scenario_names()
    assert len(names) >= 30
    articles = re.findall(
        r'<article class="scenario [^"]*" data-result="([^"]+)">\s*'
        r'<span class="result">[^<]*</span>\s*<h3>([^<]*)</h3>',
        dom,
    )
    shown = {}
    for result, name in articles:
        shown[name.replace("&#39;", "'").replace("&quot;", '"').replace("&amp;", "&")] = result
    assert sorted(shown) == sorted(set(names))
    assert set(shown.values()) == {"passed"}, shown
    assert f"{len(names)} scenarios" in dom and f"{len(names)} passed" in dom

    # The search box filters as a person types (here from the address: #q=premium).
    searched = _chromium(tmp_path / "profile2", "--dump-dom", page.as_uri() + "#q=premium").stdout
    visible = re.findall(
        r'<article class="scenario (?![^"]*hidden)[^"]*"[^>]*>\s*'
        r'<span class="result">[^<]*</span>\s*<h3>([^<]*)</h3>',
        searched,
    )
    assert visible and all("premium" in name.lower() for name in visible), visible

    shot = tmp_path / "features.png"
    taken = _chromium(
        tmp_path / "profile3", "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri()
    )
    assert shot.is_file(), taken.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1200, 1600)
