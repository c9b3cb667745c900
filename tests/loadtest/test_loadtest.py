"""The load test's machinery for a few seconds at tiny rates: a real stack, Locust through the gateway,
the samples, the checks and the report with every section and plot; then an injected double charge and
an injected oversell must fail it, named at the top of the report. The real run is `make loadtest`."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from pathlib import Path

import pytest

from bench.loadtest.harness import LoadResult, run_loadtest
from bench.loadtest.report import CACHE_SECTION, PLOTS, SECTIONS, recheck, write_report
from bench.loadtest.settings import LoadSettings
from subgraphs.kit import embedded_mongo
from tests.support.invariants import LedgerCharge

pytestmark = pytest.mark.slow

TINY = LoadSettings(base_rps=4, before=2, spike=3, after=1, multiplier=4, hold_seconds=10, window=1,
                    sample_interval=0.5)
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> LoadResult:
    reason = embedded_mongo.unavailable_reason()
    if reason is not None and not os.environ.get("MONGODB_URL"):
        pytest.skip(f"the load test needs one MongoDB shared by every process: {reason}")
    return asyncio.run(run_loadtest(TINY, tmp_path_factory.mktemp("loadtest"), say=lambda line: None))


def test_a_short_run_writes_the_report_with_every_section_and_plot(clean_run: LoadResult) -> None:
    report, code = write_report(clean_run)
    text = report.read_text()
    assert code == 0, text.splitlines()[:10]
    assert text.startswith("# Load test: order spike — passed")
    positions = [text.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    for plot in PLOTS:
        assert f"](plots/{plot})" in text
        assert (report.parent / "plots" / plot).read_bytes().startswith(PNG)
    for operation in ("products: listing", "products: search", "products: by id", "products: next page",
                      "cart: add", "cart: read", "checkout: placeOrder"):
        assert f"| {operation} |" in text
    paid = [t for t in clean_run.timelines if t.paid_at is not None]
    assert paid, "no order was paid during the run"
    assert clean_run.samples and "group payments: lag" in text and "queue payments: due" in text
    assert (report.parent / "requests.csv").stat().st_size > 0


def test_an_injected_double_charge_fails_the_run_and_heads_the_report(clean_run: LoadResult,
                                                                           tmp_path: Path) -> None:
    state = dataclasses.replace(clean_run.state, charges=list(clean_run.state.charges))
    charge = next(c for c in state.charges if c.succeeded)
    state.charges.append(LedgerCharge(key=f"{charge.payment_id}:99", payment_id=charge.payment_id, succeeded=True,
                                      amount=charge.amount, refunded=0))
    tampered = dataclasses.replace(clean_run, state=state, out_dir=tmp_path)
    violations = recheck(tampered)
    assert any(v.rule == "one-charge-per-order" for v in violations)
    report, code = write_report(tampered)
    head = "\n".join(report.read_text().splitlines()[:8])
    assert code == 1
    assert "FAILED" in head and "one-charge-per-order" in head


def test_an_injected_oversell_fails_the_run(clean_run: LoadResult, tmp_path: Path) -> None:
    sku = clean_run.hot_skus[0]
    variants = dict(clean_run.state.variants)
    variants[sku] = dataclasses.replace(variants[sku], on_hand=-1, available=-1)
    tampered = dataclasses.replace(clean_run, state=dataclasses.replace(clean_run.state, variants=variants),
                                   out_dir=tmp_path)
    recheck(tampered)
    report, code = write_report(tampered)
    head = "\n".join(report.read_text().splitlines()[:8])
    assert code == 1
    assert f"available-not-negative: sku {sku}" in head


def test_the_spike_multiplies_the_checkouts_and_keeps_the_browsers() -> None:
    settings = LoadSettings()
    assert settings.spike_buyers == 10 * settings.base_buyers
    assert settings.duration == 120
    with pytest.raises(ValueError, match="LOADTEST_SPIKE"):
        LoadSettings.from_env({"LOADTEST_SPIKE": "soon"})
    assert LoadSettings.from_env({"LOADTEST_SPIKE": "20"}, before=5).spike == 20


def test_failed_requests_are_counted_by_operation_http_status_and_graphql_code(clean_run: LoadResult,
                                                                              tmp_path: Path) -> None:
    requests_csv = tmp_path / "requests.csv"
    at = clean_run.started_at + 1
    requests_csv.write_text(clean_run.requests_csv.read_text()
                            + f"{at},checkout: placeOrder,12.0,200,SERVICE_UNAVAILABLE,,1\n"
                            + f"{at},checkout: placeOrder,15.0,200,SERVICE_UNAVAILABLE,,1\n"
                            + f"{at},products: search,3.0,503,,,1\n"
                            + f"{at},products: listing,9.0,0,,,1\n")
    report, code = write_report(dataclasses.replace(clean_run, requests_csv=requests_csv, out_dir=tmp_path))
    text = report.read_text()
    assert code == 0  # failed requests are reported; only the invariants, rest and Locust decide the verdict
    assert "| checkout: placeOrder | 200 | SERVICE_UNAVAILABLE | 2 |" in text
    assert "| products: search | 503 | - | 1 |" in text
    assert "| products: listing | no response | - | 1 |" in text


def test_with_the_gateway_cache_on_the_run_passes_and_reports_hits_and_staleness(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    reason = embedded_mongo.unavailable_reason()
    if reason is not None and not os.environ.get("MONGODB_URL"):
        pytest.skip(f"the load test needs one MongoDB shared by every process: {reason}")
    result = asyncio.run(run_loadtest(dataclasses.replace(TINY, cache=1), tmp_path_factory.mktemp("cached"),
                                      say=lambda line: None))
    report, code = write_report(result)
    text = report.read_text()
    assert code == 0, text.splitlines()[:10]
    assert result.cache is not None and result.cache.probes > 0
    hits, misses = result.cache.lookups["response_local"]
    assert hits + misses > 0  # anonymous catalog reads went through the whole-response cache
    assert text.index(CACHE_SECTION) < text.index("## Invariants")
    assert "| response_local |" in text and "stale stretches" in text
