"""The peer benchmark's harness: its answer check, its arithmetic and tables, and one short real run
(our gateway alone, 1 s rounds) so that the code cannot rot. No speed is asserted."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.gateway.run import free_port
from bench.peers import gateways, open_loop, report
from bench.peers import run as peers_run
from bench.peers.gateways import Gateway
from bench.peers.workloads import WORKLOADS, w4_stable
from tests.differential.gateways import GatewayProcess

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (fixture subgraphs)")


def test_answer_diff_is_none_for_equal_json_and_names_the_difference_otherwise() -> None:
    assert report.answer_diff({"data": {"a": [1, 2]}}, {"data": {"a": [1, 2]}}, "x") is None
    diff = report.answer_diff({"data": {"a": 1}}, {"data": {"a": 2}}, "peer")
    assert diff is not None
    assert "--- expected" in diff and "+++ peer" in diff
    assert '-  "a": 1' in diff and '+  "a": 2' in diff


def test_long_diffs_are_cut() -> None:
    diff = report.answer_diff(list(range(200)), list(range(1000, 1200)), "peer")
    assert diff is not None
    assert len(diff.splitlines()) == report.MAX_DIFF_LINES + 1
    assert diff.endswith("more diff lines)")


def test_rounds_rotate_the_gateway_order() -> None:
    names = ["a", "b", "c"]
    assert [report.rotated(names, i) for i in range(4)] == [
        ["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]]
    assert report.rotated([], 3) == []


def test_summaries_are_medians_errors_summed_rss_max() -> None:
    rounds = [
        {"requests_per_second": 100.0, "p50_ms": 5.0, "p99_ms": 50.0, "errors": 1, "cpu_ms_per_request": 0.5,
         "rss_mib": 60.0},
        {"requests_per_second": 300.0, "p50_ms": 1.0, "p99_ms": 10.0, "errors": 0, "cpu_ms_per_request": 0.3,
         "rss_mib": 70.0},
        {"requests_per_second": 200.0, "p50_ms": 3.0, "p99_ms": 30.0, "errors": 2, "cpu_ms_per_request": None,
         "rss_mib": 65.0},
    ]
    summary = report.summarize(rounds)
    assert summary["requests_per_second"] == 200.0
    assert (summary["p50_ms"], summary["p99_ms"]) == (3.0, 30.0)
    assert summary["cpu_ms_per_request"] == pytest.approx(0.4)  # the round without a figure is left out
    assert summary["errors"] == 3
    assert summary["rss_mib"] == 70.0
    assert len(summary["rounds"]) == 3


def test_ratios_are_to_the_best_node_peer_and_to_grafbase() -> None:
    summaries: dict[str, dict[str, float]] = {
        gateways.OURS: {"requests_per_second": 900.0},
        gateways.APOLLO: {"requests_per_second": 300.0},
        gateways.HIVE_RUST: {"requests_per_second": 600.0},
        gateways.GRAFBASE: {"requests_per_second": 1800.0},
    }
    relative_to = report.add_ratios(summaries, subscription=False)
    assert relative_to == {"best_node_peer": gateways.HIVE_RUST, "grafbase": gateways.GRAFBASE}
    assert summaries[gateways.OURS]["vs_best_node"] == pytest.approx(1.5)
    assert summaries[gateways.OURS]["vs_grafbase"] == pytest.approx(0.5)
    assert summaries[gateways.APOLLO]["vs_best_node"] == pytest.approx(0.5)


def test_without_peers_there_are_no_ratios_and_the_table_says_so() -> None:
    summaries: dict[str, dict[str, float]] = {gateways.OURS: {"events_per_second": 950.0, "p50_ms": 2.0,
                                                              "p99_ms": 9.0, "cpu_ms_per_event": 0.2,
                                                              "core_share": 0.19}}
    assert report.add_ratios(summaries, subscription=True) == {"best_node_peer": None, "grafbase": None}
    text = report.table(summaries, subscription=True)
    header, rule, row = text.splitlines()
    assert "event/s" in header and "CPU ms/event" in header
    assert set(rule) == {"-"}
    assert row.split() == ["ours", "950", "2.00", "9.00", "0.200", "19", "-", "-", "0", "-", "-"]


def test_scaling_is_two_workers_over_one() -> None:
    summaries = {gateways.OURS: {"requests_per_second": 1000.0, "cpu_ms_per_request": 0.5},
                 gateways.OURS_2W: {"requests_per_second": 1500.0, "cpu_ms_per_request": 0.6}}
    scaling = report.scaling(summaries, gateways.OURS, gateways.OURS_2W, subscription=False)
    assert scaling == {"throughput_ratio": pytest.approx(1.5), "cpu_per_unit_ratio": pytest.approx(1.2)}
    assert report.scaling(summaries, gateways.OURS, "absent", subscription=False) == {}


def test_w4_answers_are_compared_without_their_changing_fields() -> None:
    event = {"data": {"orderStatus": {"orderId": "o1", "seq": 7, "status": "PAID", "emittedAt": 1.5,
                                      "product": {"upc": "1", "name": "Product 1"}}}}
    assert w4_stable(event) == WORKLOADS["W4"].expected
    assert w4_stable({"errors": [{"message": "boom"}]}) == {"errors": [{"message": "boom"}]}


@needs_node
def test_a_gateway_that_answers_other_json_is_left_out(tmp_path: Path) -> None:
    """The products fixture itself, put where a gateway would be, answers W3 with its __typename
    fields: the check prints a diff and leaves it out, with a real HTTP server answering."""
    ports = {name: free_port() for name in peers_run.FIXTURE_ORDER}
    node = shutil.which("node")
    assert node is not None
    fixtures = peers_run.start_fixtures(node, ports, 1000, tmp_path / "fixtures.log")
    try:
        process = GatewayProcess("fixture", [], ports["products"], tmp_path / "unused.log", {})
        impostor = Gateway("fixture", process, None, None)
        ok, diffs, unsupported = peers_run.verify({"fixture": impostor}, WORKLOADS["W3"])
        assert ok == []
        assert '"__typename": "Product"' in diffs["fixture"]
        _, _, unsupported = peers_run.verify({"fixture": impostor}, WORKLOADS["W4"])
        assert "no subscriptions" in unsupported["fixture"]
        assert httpx.get(f"http://127.0.0.1:{ports['products']}/", timeout=5).status_code == 200
    finally:
        fixtures.terminate()
        fixtures.wait(timeout=10)


@needs_node
def test_a_short_run_of_our_gateway_measures_every_round_and_writes_the_json(tmp_path: Path) -> None:
    out = tmp_path / "peers.json"
    code = peers_run.main(["--gateways", gateways.OURS, "--workloads", "W3,W4", "--duration", "1", "--rounds", "2",
                           "--warmup", "0.5", "--connections", "4", "--subscribers", "3", "--event-ms", "50",
                           "--open-loop", "0.1", "--open-loop-duration", "1", "--open-loop-connections", "8",
                           "--out", str(out)])
    assert code == 0
    results = json.loads(out.read_text())
    w3 = results["workloads"]["W3"]["gateways"][gateways.OURS]
    assert [r["round"] for r in w3["rounds"]] == [1, 2]
    assert w3["requests_per_second"] > 0 and w3["errors"] == 0
    assert w3["rss_mib"] > 0
    assert w3["core_share"] > 0 and w3["cpu_ms_per_request"] > 0
    assert w3["run_queue_share"] >= 0
    w4 = results["workloads"]["W4"]["gateways"][gateways.OURS]
    assert all(r["events"] > 0 and r["subscribers_core_share"] > 0 for r in w4["rounds"])
    assert w4["errors"] == 0
    assert results["workloads"]["W3"]["excluded"] == {}
    assert "open_loop" not in results["workloads"]["W4"]  # no fixed-rate pass for a subscription
    if shutil.which("cc") or shutil.which("gcc"):
        fixed = results["workloads"]["W3"]["open_loop"]
        (rate,) = fixed["rates"]
        assert rate == pytest.approx(0.1 * w3["requests_per_second"], rel=0.05, abs=10)
        at_rate = fixed["gateways"][gateways.OURS][str(rate)]
        assert [r["round"] for r in at_rate["rounds"]] == [1, 2]
        assert all(r["sent"] > 0 and r["completed"] == r["sent"] for r in at_rate["rounds"])
        assert 0 < at_rate["p50_ms"] <= at_rate["p99_ms"] <= at_rate["max_ms"]


def _fixed_rate_round(rate: float, p99: float, achieved: float | None = None, queued: int = 0) -> dict[str, Any]:
    return {"rate": rate, "achieved_rps": achieved if achieved is not None else rate, "queued": queued, "errors": 0,
            "p50_ms": p99 / 2, "p90_ms": p99 / 1.5, "p99_ms": p99, "p999_ms": p99 * 2, "max_ms": p99 * 3,
            "service_p99_ms": p99, "max_send_lag_ms": 0.01}


def test_fixed_rates_are_fractions_of_ours_and_only_offered_to_a_gateway_that_reaches_them() -> None:
    closed = {gateways.OURS: {"requests_per_second": 10_000.0}, "slow": {"requests_per_second": 3_000.0},
              gateways.GRAFBASE: {"requests_per_second": 15_000.0}}
    rates = open_loop.offered_rates(closed, gateways.OURS, [0.5, 0.25])
    assert rates == [2_500.0, 5_000.0]
    assert open_loop.offered_rates({"a": {"requests_per_second": 400.0}}, gateways.OURS, [0.5]) == [200.0]
    calls: list[tuple[str, float]] = []

    def run_one(name: str, rate: float) -> dict[str, Any]:
        calls.append((name, rate))
        if name == "slow":
            return _fixed_rate_round(rate, 40.0, achieved=rate * 0.8, queued=120)
        return _fixed_rate_round(rate, 2.0 if name == gateways.OURS else 3.0)

    outcome = open_loop.measure([gateways.OURS, "slow", gateways.GRAFBASE], closed, rates, 2, run_one,
                                report.rotated)
    assert sorted(set(calls)) == sorted({(gateways.OURS, 2_500.0), ("slow", 2_500.0), (gateways.GRAFBASE, 2_500.0),
                                         (gateways.OURS, 5_000.0), (gateways.GRAFBASE, 5_000.0)})
    assert len(calls) == 10  # two rounds each
    assert outcome["not_offered"] == {"slow": ["5,000 req/s: its closed-loop rate is 3,000 req/s"]}
    assert outcome["gateways"]["slow"]["2500.0"]["saturated_rounds"] == 2
    assert open_loop.lowest_p99(outcome) == {"2500.0": gateways.OURS, "5000.0": gateways.OURS}
    table = open_loop.table(outcome)
    assert "40.00 / 80.00 sat. 2/2" in table and "not offered" in table
    assert "lowest p99 (kept up): 2,500 req/s ours, 5,000 req/s ours" in table


def test_a_gateway_saturated_in_most_rounds_never_has_the_lowest_p99() -> None:
    queued, kept = _fixed_rate_round(100.0, 1.0, queued=3), _fixed_rate_round(100.0, 1.0)
    outcome = {"rates": [100.0], "gateways": {
        "fast-but-queued": {"100.0": open_loop.summarize([queued, queued, kept])},
        "steady": {"100.0": open_loop.summarize([_fixed_rate_round(100.0, 5.0)] * 3)}}}
    assert open_loop.lowest_p99(outcome) == {"100.0": "steady"}
    # one round in three caught a stall of the machine: it still kept up
    outcome["gateways"]["fast-but-queued"]["100.0"] = open_loop.summarize([queued, kept, kept])
    assert open_loop.lowest_p99(outcome) == {"100.0": "fast-but-queued"}
    assert "sat. 1/3" in open_loop.table(outcome)


def _fake_node(directory: Path, version: str) -> str:
    node = directory / "node"
    node.write_text(f"#!/bin/sh\necho {version}\n")
    node.chmod(0o755)
    return str(node)


def test_node_22_comes_from_the_registry_only_when_the_node_on_path_is_older(tmp_path: Path) -> None:
    from scripts.install_bench_peers import NODE_PACKAGE, NODE_VERSION, PEERS, node_major, pinned

    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    assert node_major(_fake_node(old, "v20.20.2")) == 20
    assert pinned(_fake_node(old, "v20.20.2"))[NODE_PACKAGE] == NODE_VERSION
    assert pinned(None)[NODE_PACKAGE] == NODE_VERSION
    assert pinned(_fake_node(new, "v22.1.0")) == dict(PEERS)
    assert PEERS["@apollo/gateway"] == "2.14.4" and PEERS["@graphql-hive/router-runtime"] == "1.4.23"


def test_a_missing_peer_is_skipped_with_the_reason(tmp_path: Path) -> None:
    setup = gateways.Setup(tmp_path / "supergraph.graphql", {}, {}, tmp_path, peers_dir=tmp_path / "none")
    assert gateways.unavailable(gateways.OURS, setup) is None
    for name in (gateways.APOLLO, gateways.HIVE, gateways.HIVE_RUST, gateways.GRAFBASE):
        reason = gateways.unavailable(name, setup)
        assert reason is not None and "is not installed under" in reason and "install_bench_peers" in reason


def test_the_default_gateway_list_names_every_gateway() -> None:
    assert peers_run.parse_args([]).gateway_names == list(gateways.ALL)  # no name holds the separator


def test_our_no_dedup_row_runs_our_gateway_with_deduplication_off_and_the_others_with_it_on(tmp_path: Path) -> None:
    setup = gateways.Setup(tmp_path / "supergraph.graphql", {}, {}, tmp_path, peers_dir=tmp_path / "none")
    flags = {name: gateways.make(name, setup, 4000).process.env["GATEWAY_DEDUPLICATE_FETCHES"]
             for name in gateways.OURS_ALL}
    assert flags == {gateways.OURS: "1", gateways.OURS_2W: "1", gateways.OURS_NO_DEDUP: "0"}
    assert gateways.unavailable(gateways.OURS_NO_DEDUP, setup) is None


def test_our_gateway_is_this_checkouts_whatever_the_working_directory(tmp_path: Path) -> None:
    """An A/B run from another tree must not measure the gateway package of the directory it runs in."""
    decoy = tmp_path / "gateway"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("")
    setup = gateways.Setup(tmp_path / "supergraph.graphql", {}, {}, tmp_path, peers_dir=tmp_path / "none",
                           gateway_cpus=None)
    process = gateways.make(gateways.OURS, setup, 4000).process
    interpreter = process.command[:process.command.index("-m")]
    found = subprocess.run([*interpreter, "-c", "import gateway; print(gateway.__file__)"], cwd=tmp_path,
                           env=process.env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(found).resolve() == (gateways.REPO_ROOT / "gateway" / "__init__.py").resolve()


def test_bench_options_go_to_exactly_one_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.__main__ import main as bench_main

    assert bench_main(["gateway", "peers", "--rounds", "1"]) == 2
    assert "exactly one benchmark" in capsys.readouterr().err
    assert bench_main(["payments", "--rounds", "1"]) == 2
    assert "takes no options" in capsys.readouterr().err
