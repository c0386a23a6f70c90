"""Benchmark: making one quality report (HTML + PDF) of a large campaign, against the analysis it
reports on.

Run from the repository root::

    .venv/bin/python benchmarks/quality_report.py

The campaign is the one of ``benchmarks/agreement.py`` (100,000 ratings x 4 criteria, 33,000
items = 8,250 source pairs x 4 methods, k = 3 of 30 raters, 1,000 re-tests), every rating
submitted over 28 days with flags on 5% of them. In the same run:

* the peer: ``audit.reports.analysis.compute.compute_results`` on it (the stored analysis
  snapshot a report takes its numbers from, 1,000 bootstrap replicates), and
* the report: throughput per expert and method over the 28 days, rater severity per week from
  the 396,000 first-rating scores, the headline summary and "what changed", the tables and
  interval charts, the two matplotlib charts, the HTML template and the WeasyPrint PDF.

Targets: the report in <= 10 s of CPU, and no more than the analysis it reports on; peak
memory <= 1 GB. Both run on one thread, so CPU time is what the wall clock shows on an idle
machine; on a shared one the wall clock (printed too) also counts other processes' turns.
The database reads of a report (three queries) are not part of this pure run.
Exits with status 1 if a target is missed.
"""

from __future__ import annotations

import logging
import os
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "audit.settings")

import django  # noqa: E402

django.setup()
logging.getLogger("weasyprint").setLevel(logging.ERROR)  # its progress lines would flood the output

import numpy as np  # noqa: E402
from agreement import synthetic_campaign  # noqa: E402

from audit.campaigns.models import Campaign, Criterion  # noqa: E402
from audit.reports.analysis.compute import compute_results  # noqa: E402
from audit.reports.analysis.reading import SCORE_DTYPE, CampaignData  # noqa: E402
from audit.reports.models import QualityReport  # noqa: E402
from audit.reports.quality import numbers as quality  # noqa: E402
from audit.reports.quality import presentation, rendering  # noqa: E402

METHODS = ["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"]
KEYS = ["accuracy", "relevance", "completeness", "usefulness"]
DAYS = 28


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(seed: int = 7):
    data = synthetic_campaign(seed)
    rng = np.random.default_rng(seed)
    n = data["item"].size
    n_items = int(data["item"].max()) + 1
    criteria = [
        Criterion(pk=i + 1, key=k, name=k.title(), scale_min=1, scale_max=5, position=i)
        for i, k in enumerate(KEYS)
    ]
    item_ids = np.arange(1, n_items + 1, dtype=np.int64)
    item_source = np.zeros(n_items, dtype=np.int64)
    item_source[data["item"]] = data["source"]
    item_method = np.zeros(n_items, dtype=np.int64)
    item_method[data["item"]] = data["method"]
    modality = rng.choice(["CT", "MRI", "X-ray", "Microscopy"], n_items)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    seconds = np.sort(rng.uniform(0, DAYS * 86400, n))
    flagged = rng.random(n) < 0.05
    assignments = []
    for r in range(n):
        assignments.append(
            (int(data["rater"][r]) + 1, f"expert{int(data['rater'][r]) + 1:02d}",
             int(data["item"][r]) + 1, not bool(data["first"][r]), "submitted",
             float(rng.uniform(20, 90)), r + 1, False, ["hallucination"] if flagged[r] else [])
        )  # fmt: skip
    scores = np.zeros(n * 4, dtype=SCORE_DTYPE)
    for c in range(4):
        part = scores[c * n : (c + 1) * n]
        part["criterion"] = c + 1
        part["expert"] = data["rater"] + 1
        part["item"] = data["item"] + 1
        part["repeat"] = ~data["first"]
        part["value"] = data["scores"][:, c]
    order = np.lexsort((scores["item"], scores["criterion"]))
    campaign_data = CampaignData(
        criteria=criteria,
        item_ids=item_ids,
        item_source=item_source,
        item_method=[METHODS[m] for m in item_method],
        item_stratum=[(m,) for m in modality],
        item_gold=[{} for _ in range(n_items)],
        assignments=assignments,
        scores=scores[order],
    )
    campaign = Campaign(
        pk=1, name="Benchmark campaign", seed=seed, raters_per_item=3,
        design={"kind": "paired", "methods": METHODS, "strata": ["modality"]},
    )  # fmt: skip
    when = [start + timedelta(seconds=float(s)) for s in seconds]
    activity = [
        quality.Activity(a[1], METHODS[item_method[a[2] - 1]], when[r], False, a[5])
        for r, a in enumerate(assignments)
    ]
    drift_records = [
        (KEYS[c], a[2], a[1], float(data["scores"][r, c]), when[r])
        for c in range(4)
        for r, a in enumerate(assignments)
        if not a[3]
    ]
    return campaign, campaign_data, activity, drift_records, start


def main() -> int:
    campaign, data, activity, drift_records, start = build()
    end = start + timedelta(days=DAYS)
    n_ratings = len(data.assignments)
    print(f"campaign: {n_ratings:,} ratings x 4 criteria, {data.item_ids.size:,} items, "
          f"30 raters, {DAYS} days; {len(drift_records):,} first-rating scores")  # fmt: skip

    t0, c0 = time.perf_counter(), time.process_time()
    results = compute_results(campaign, data, n_resamples=1000)
    analysis_s, analysis_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"peer  analysis (compute_results, 1,000 replicates) {analysis_s:7.2f} s  "
          f"(CPU {analysis_cpu:.2f} s)")  # fmt: skip

    steps = {}

    def step(name, fn):
        t, c = time.perf_counter(), time.process_time()
        value = fn()
        steps[name] = (time.perf_counter() - t, time.process_time() - c)
        return value

    report = QualityReport(
        campaign=campaign, period_start=start, period_end=end, trigger="schedule",
        created_at=end, status="running",
    )  # fmt: skip
    t_report, c_report = time.perf_counter(), time.process_time()
    throughput = step("throughput", lambda: quality.throughput(activity, start, end))
    drift = step(
        "severity drift",
        lambda: quality.severity_drift(drift_records, bin_days=quality.drift_bin_days(start, end)),
    )
    summary = step("summary", lambda: quality.summary(results, len(activity)))
    previous = {**summary, "ratings_scored": summary["ratings_scored"] - 5000}
    changes = step("what changed", lambda: quality.changes(previous, summary))
    view = step("tables + interval charts", lambda: presentation.dashboard(results))
    progress = {"expert": [], "method": []}  # a DB read in the service
    context = {
        "campaign": campaign, "report": report, "snapshot": None, "empty": False,
        "message": None, "view": view, "progress": progress, "throughput": throughput,
        "expert_rows": quality.progress_rows(progress, throughput, "expert"),
        "method_rows": quality.progress_rows(progress, throughput, "method"),
        "drift": drift, "severity": quality.severity_table(results, drift),
        "summary": summary, "previous": report,
        "previous_summary": previous, "changes": changes, "site_url": "http://127.0.0.1:8000",
    }  # fmt: skip
    context["throughput_chart"] = step(
        "throughput chart (matplotlib)", lambda: rendering.throughput_chart(throughput["daily"])
    )
    context["drift_chart"] = step("drift chart (matplotlib)", lambda: rendering.drift_chart(drift))
    html = step("HTML template", lambda: rendering.render_html(context))
    pdf = step("PDF (WeasyPrint)", lambda: rendering.render_pdf(html))
    report_s, report_cpu = time.perf_counter() - t_report, time.process_time() - c_report

    from io import BytesIO

    from pypdf import PdfReader

    pages = len(PdfReader(BytesIO(pdf)).pages)
    for name, (seconds, cpu) in steps.items():
        print(f"      {name:<46} {seconds:7.2f} s  (CPU {cpu:.2f} s)")
    print(
        f"report total                                       {report_s:7.2f} s  "
        f"(CPU {report_cpu:.2f} s)"
    )
    print(f"      target: CPU <= 10 s and <= the analysis' CPU ({analysis_cpu:.2f} s); "
          "single-threaded, so CPU = wall on an idle machine")  # fmt: skip
    print(f"      HTML {len(html) / 1024:.0f} KiB, PDF {len(pdf) / 1024:.0f} KiB, {pages} pages")
    mb = peak_mb()
    print(f"peak RSS {mb:.0f} MB (target <= 1024 MB)")
    ok = report_cpu <= 10 and report_cpu <= analysis_cpu and mb <= 1024
    print("all targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
