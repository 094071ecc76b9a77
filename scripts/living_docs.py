"""Living documentation: the feature files as one static HTML page, with each scenario's result
from the last test run (pytest-bdd's cucumber JSON), grouped by feature and searchable.

    .venv/bin/python scripts/living_docs.py [--results var/reports/cucumber.json]
                                            [--out var/reports/features.html]

A product owner reads it in any browser; no Python needed. Scenarios the last run did not
reach are shown as "not run", so the page always lists every scenario of the feature files.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gherkin.parser import Parser
from gherkin.token_scanner import TokenScanner
from jinja2 import Environment, select_autoescape

ROOT = Path(__file__).resolve().parents[1]
FEATURES = ROOT / "features"
RESULTS = ROOT / "var" / "reports" / "cucumber.json"
OUT = ROOT / "var" / "reports" / "features.html"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OTP service: what it does</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem 2rem;
         color: #1d2330; }
  header { border-bottom: 1px solid #ccd; margin-bottom: 1rem; }
  .summary span { margin-right: 1.2rem; }
  input#search { width: 100%; font-size: 1rem; padding: .5rem; margin: .5rem 0 1rem;
                 box-sizing: border-box; }
  section.feature { margin-bottom: 2rem; }
  section.feature > p { color: #4a5365; white-space: pre-line; }
  article.scenario { border-left: 6px solid #999; padding: .3rem .8rem; margin: .6rem 0;
                     background: #f7f8fa; }
  article.passed { border-color: #2e8540; }
  article.failed { border-color: #c62828; background: #fdf1f1; }
  article.skipped, article.not-run { border-color: #b0892e; }
  .result { font-weight: 600; float: right; }
  .passed .result { color: #2e8540; } .failed .result { color: #c62828; }
  .skipped .result, .not-run .result { color: #8a6a1e; }
  ol.steps { list-style: none; padding-left: 0; margin: .3rem 0; }
  ol.steps b { color: #38598b; }
  table.examples { border-collapse: collapse; margin: .3rem 0; }
  table.examples td, table.examples th { border: 1px solid #ccd; padding: .1rem .5rem; }
  .hidden { display: none; }
</style>
</head>
<body>
<header>
  <h1>OTP service: what it does</h1>
  <p class="summary" id="summary">
    <span>{{ total }} scenarios</span><span>{{ counts.passed }} passed</span>
    <span>{{ counts.failed }} failed</span><span>{{ counts.skipped }} skipped</span>
    <span>{{ counts["not run"] }} not run</span><span>results of {{ run_at }}</span>
  </p>
  <input id="search" type="search" placeholder="Search scenarios and steps"
         aria-label="Search scenarios and steps">
</header>
{% for feature in features %}
<section class="feature" id="{{ feature.anchor }}">
  <h2>{{ feature.name }}</h2>
  {% if feature.description %}<p>{{ feature.description }}</p>{% endif %}
  {% for scenario in feature.scenarios %}
  <article class="scenario {{ scenario.css }}" data-result="{{ scenario.result }}">
    <span class="result">{{ scenario.result }}</span>
    <h3>{{ scenario.name }}</h3>
    <ol class="steps">
      {% for step in scenario.steps %}<li><b>{{ step.keyword }}</b> {{ step.text }}</li>{% endfor %}
    </ol>
    {% if scenario.examples %}
    <table class="examples">
      <tr>{% for cell in scenario.examples[0] %}<th>{{ cell }}</th>{% endfor %}</tr>
      {% for row in scenario.examples[1:] %}
      <tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
      {% endfor %}
    </table>
    {% endif %}
  </article>
  {% endfor %}
</section>
{% endfor %}
<script>
  const search = document.getElementById("search");
  search.addEventListener("input", () => {
    const words = search.value.toLowerCase().split(/\\s+/).filter(Boolean);
    for (const article of document.querySelectorAll("article.scenario")) {
      const text = article.textContent.toLowerCase();
      article.classList.toggle("hidden", !words.every((w) => text.includes(w)));
    }
    for (const section of document.querySelectorAll("section.feature")) {
      const shown = section.querySelectorAll("article.scenario:not(.hidden)").length;
      section.classList.toggle("hidden", shown === 0);
    }
  });
  // A link may carry a search: features.html#q=premium
  if (location.hash.startsWith("#q=")) {
    search.value = decodeURIComponent(location.hash.slice(3));
    search.dispatchEvent(new Event("input"));
  }
</script>
</body>
</html>
"""


def _parse(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = Parser().parse(TokenScanner(path.read_text(encoding="utf-8")))
    feature: dict[str, Any] = document["feature"]
    return feature


def _results(path: Path) -> dict[tuple[str, int], str]:
    """(feature file name, scenario line) -> passed, failed or skipped (worst of its runs)."""
    if not path.is_file():
        return {}
    order = {"passed": 0, "skipped": 1, "failed": 2}
    found: dict[tuple[str, int], str] = {}
    for feature in json.loads(path.read_text(encoding="utf-8")):
        name = Path(feature["uri"]).name
        for element in feature.get("elements", []):
            statuses = [step["result"]["status"] for step in element.get("steps", [])]
            status = "failed" if "failed" in statuses else "passed"
            if status == "passed" and any(s != "passed" for s in statuses):
                status = "skipped"
            key = (name, element["line"])
            if order[status] >= order.get(found.get(key, "passed"), 0):
                found[key] = status
    return found


def _scenarios(children: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for child in children:
        if "scenario" in child:
            yield child["scenario"]
        elif "rule" in child:
            yield from _scenarios(child["rule"]["children"])


def build(features: Path, results: Path) -> dict[str, Any]:
    outcome = _results(results)
    shown = []
    counts = {"passed": 0, "failed": 0, "skipped": 0, "not run": 0}
    for path in sorted(features.glob("*.feature")):
        feature = _parse(path)
        scenarios = []
        for scenario in _scenarios(feature["children"]):
            result = outcome.get((path.name, scenario["location"]["line"]), "not run")
            counts[result] += 1
            examples = []
            for block in scenario.get("examples", []):
                header = [cell["value"] for cell in block["tableHeader"]["cells"]]
                rows = [[cell["value"] for cell in row["cells"]] for row in block["tableBody"]]
                examples = [header, *rows]
            scenarios.append(
                {
                    "name": scenario["name"],
                    "result": result,
                    "css": result.replace(" ", "-"),
                    "steps": [
                        {"keyword": step["keyword"].strip(), "text": step["text"]}
                        for step in scenario["steps"]
                    ],
                    "examples": examples,
                }
            )
        shown.append(
            {
                "name": feature["name"],
                "anchor": path.stem,
                "description": " ".join(
                    line.strip() for line in feature.get("description", "").splitlines()
                ),
                "scenarios": scenarios,
            }
        )
    run_at = (
        datetime.fromtimestamp(results.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M UTC")
        if results.is_file()
        else "no test run yet"
    )
    return {
        "features": shown,
        "counts": counts,
        "total": sum(counts.values()),
        "run_at": run_at,
    }


def render(features: Path, results: Path) -> str:
    environment = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    return environment.from_string(PAGE).render(**build(features, results))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=Path, default=FEATURES)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    page = render(args.features, args.results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page, encoding="utf-8")
    summary = build(args.features, args.results)["counts"]
    print(f"living docs: {html.unescape(str(args.out))} ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
