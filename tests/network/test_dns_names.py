"""The DNS name model: names cut at their suffix, learning apart from scoring, files checked, measured."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bluebench.cli import app
from bluebench.network import DnsNameModel, ModelError, split_name
from bluebench.network.data import read_names
from bluebench.network.evaluate import evaluate

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "dns-names"


def _folder(tmp_path: Path) -> Path:
    """The shipped excerpts laid out as the public set is (dns/<part>/names.csv)."""
    for part in ("plain", "dns2tcp", "dnscapy"):
        (tmp_path / "dns" / part).mkdir(parents=True)
        shutil.copy(SAMPLES / f"{part}.csv", tmp_path / "dns" / part / "names.csv")
    rows = (SAMPLES / "dns2tcp.csv").read_text().splitlines()[1:200]
    rows += (SAMPLES / "plain.csv").read_text().splitlines()[1:400]
    (tmp_path / "dns" / "train.csv").write_text("\n".join(rows[::2]) + "\n")
    (tmp_path / "dns" / "test.csv").write_text("\n".join(rows[1::2]) + "\n")
    (tmp_path / "metrics.txt").write_text("accuracy = 0.5\nrecall = 0.25\n")
    return tmp_path


def test_base64_labels_are_cut_at_the_suffix_not_at_a_slash() -> None:
    parts = split_name("q+aJ1onu/hxI7Q0d.TZAl+FC1Z6.hidemyself.org.")
    assert (parts.sub, parts.domain, parts.suffix) == ("q+aJ1onu/hxI7Q0d.TZAl+FC1Z6", "hidemyself", "org")
    assert split_name("www.example.co.uk").registered == "example.co.uk"
    assert split_name("10.0.0.1").suffix == ""


def test_the_shipped_model_scores_tunnels_high_and_long_ordinary_names_low() -> None:
    model = DnsNameModel.load()
    tunnels = read_names(SAMPLES / "dns2tcp.csv").names[:50]
    ordinary = [
        "11.tlu.dl.delivery.mp.microsoft.com",
        "ocsp.digicert.com",
        "www.google.com",
        "e3289.dscg.akamaiedge.net",
    ]
    before = model.to_json()
    assert model.score_samples(tunnels).mean() > 0.9
    assert model.score_samples(ordinary).max() < 0.5
    assert model.to_json() == before  # scoring learns nothing
    reasons = model.explain(tunnels[-1])
    assert reasons and all(c.log_odds > 0 for c in reasons) and "ordinary names" in reasons[0].text()


def test_a_model_file_is_checked_field_by_field(tmp_path: Path) -> None:
    data = DnsNameModel.load().to_json()
    path = tmp_path / "m.json"
    for bad, message in [
        ({**data, "format": "pickle"}, "not a bluebench DNS name model"),
        ({**data, "coef": [1.0, "x", 0, 0, 0]}, "'coef' must be a finite number"),
        ({**data, "scale": [0.0] * 5}, "'scale' must be positive"),
        ({**data, "version": 99}, "model version 99"),
    ]:
        path.write_text(json.dumps(bad))
        with pytest.raises(ModelError, match=message):
            DnsNameModel.load(path)
    path.write_text("{not json")
    with pytest.raises(ModelError, match="cannot read"):
        DnsNameModel.load(path)


def test_labelled_names_with_bad_rows_are_named_and_one_class_refused(tmp_path: Path) -> None:
    path = tmp_path / "names.csv"
    path.write_text("label,qname\n1,a.b.example.org.\nx,c.example.org.\n0\n0,example.com.\n")
    names = read_names(path)
    assert names.names == ["a.b.example.org", "example.com"] and names.labels == [1, 0]
    assert [s.split(": ")[0] for s in names.skipped] == [f"{path}, line 3", f"{path}, line 4"]
    with pytest.raises(ModelError, match="both classes"):
        DnsNameModel().fit(["a.example.org"], [1])


def test_cross_tool_and_author_split_carry_counts_and_intervals(tmp_path: Path) -> None:
    result = evaluate(_folder(tmp_path))
    assert set(result.tests) == {"cross_tool/dns2tcp_to_dnscapy", "cross_tool/dnscapy_to_dns2tcp", "author"}
    unseen = result.tests["cross_tool/dnscapy_to_dns2tcp"]
    assert unseen.tp + unseen.fn == len(read_names(SAMPLES / "dns2tcp.csv").distinct().names)
    assert unseen.recall.interval is not None and result.author_metrics == {"accuracy": 0.5, "recall": 0.25}
    res = CliRunner().invoke(app, ["network", "dns-eval", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["tests"]["author"]["counts"] == result.tests["author"].to_json()["counts"]
    res = CliRunner().invoke(app, ["network", "dns-eval", str(tmp_path / "dns")])
    assert res.exit_code == 2 and "expected a 'dns' folder" in res.output


def test_dns_eval_store_keeps_the_result_as_report_facts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dns-eval --store` keeps the result in the workspace; its rates come back as facts from the counts."""
    from bluebench.events.workspace import Workspace
    from bluebench.reports.facts import collect_facts

    monkeypatch.delenv("BLUEBENCH_WORKSPACE", raising=False)
    data = _folder(tmp_path / "data")
    Workspace(tmp_path / "ws").close()
    res = CliRunner().invoke(
        app, ["network", "dns-eval", str(data), "--store", "-w", str(tmp_path / "ws"), "--json"]
    )
    assert res.exit_code == 0, res.output
    counts = json.loads(res.stdout)["tests"]["cross_tool/dnscapy_to_dns2tcp"]["counts"]
    facts = collect_facts(tmp_path / "ws")
    recall = facts.get("network/dns_eval/data/tests/cross_tool_dnscapy_to_dns2tcp/recall")
    assert recall is not None and recall.value == pytest.approx(counts["tp"] / (counts["tp"] + counts["fn"]))
    assert facts.get("network/dns_eval/data/author/recall").value == 0.25  # type: ignore[union-attr]
