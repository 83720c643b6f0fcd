"""Write the measured vulnerability figures into ``docs/vuln.md`` (between its ``vuln:*`` markers).

Reads ``bench/results/vuln-evaluation-*.json`` (``bluebench vuln evaluate --out``),
``vuln_ablation.json`` (``bench/vuln_ablation.py``),
``vuln_reports.json`` (``bench/vuln_reports.py``) and ``vuln_speed.json``
(``bench/vuln_speed.py``); nothing in the generated blocks is typed by hand.

    .venv/bin/python bench/vuln_report.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DOC = HERE.parent / "docs" / "vuln.md"


def _ci(e: dict[str, Any], fmt: str) -> str:
    v, ci = e["value"], e.get("ci95")
    if v is None:
        return "n/a"
    return format(v, fmt) + (f" [{format(ci[0], fmt)}-{format(ci[1], fmt)}]" if ci else "")


def _rate(r: dict[str, Any]) -> str:
    ci = r.get("ci95")
    pct = f"{100 * r['value']:.0f}%" if r["value"] is not None else "n/a"
    band = f" [{100 * ci[0]:.0f}-{100 * ci[1]:.0f}]" if ci else ""
    return f"{r['k']}/{r['n']} = {pct}{band}"


def _eff(r: dict[str, Any]) -> str:
    ci = r.get("ci95")
    band = f" [{100 * ci[0]:.2f}-{100 * ci[1]:.2f}]" if ci else ""
    return f"{r['k']}/{r['n']:,} = {100 * r['value']:.2f}%{band}"


def evaluation(ev: dict[str, Any]) -> list[str]:
    """One ranking day: the rankers, the AP ratio, the policies, the model that was judged."""
    m = ev["model"]
    days = ", ".join(f"{d['day']} ({d['positives']} added of {d['candidates']:,})" for d in m["days"])
    out = [
        f"**Ranked on {ev['at']}**, judged on KEV additions up to {ev['judged_until']}: "
        f"{ev['positives']} of {ev['candidates']:,} candidate CVEs were added. Model trained on {days} "
        f"with outcomes up to {m['trained_to']}; penalty {m['l2']:g} chosen by {m['method']} validation. "
        f"Model AP / EPSS AP: **{_ci(ev['ap_ratio'], '.2f')}**.",
        "",
        "| ranker | AP | ROC-AUC | coverage at 1% | at 5% | at 10% | efficiency at 1% |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in ev["rankers"]:
        eff = r["efforts"]
        out.append(
            f"| {r['name']} | {_ci(r['ap'], '.4f')} | {_ci(r['roc_auc'], '.3f')} | "
            + " | ".join(_rate(e["coverage"]) for e in eff)
            + f" | {_eff(eff[0]['efficiency'])} |"
        )
    out += [
        "",
        "| policy | CVEs chosen | coverage | efficiency | model, same effort: coverage | efficiency |",
    ]
    out.append("|---|---:|---|---|---|---|")
    for p in ev["policies"]:
        out.append(
            f"| {p['name']} | {p['chosen']:,} | {_rate(p['coverage'])} | {_eff(p['efficiency'])} | "
            f"{_rate(p['model_coverage'])} | {_eff(p['model_efficiency'])} |"
        )
    weights = ", ".join(f"{k} {v:+.2f}" for k, v in m["weights"].items() if abs(v) > 1e-9)
    out += [
        "",
        f"Weights learnt (per unit of each feature; the rest 0): {weights}. The model expected "
        f"{ev['expected']:.1f} additions; {ev['positives']} happened. CVSS known for "
        f"{ev['cvss_known']:,} of {ev['candidates']:,} candidates.",
    ]
    out += [f"*{n}*" for n in ev["notes"]]
    return out


def reports(data: dict[str, Any]) -> list[str]:
    out = [
        "| tool folder | files | read | refused | findings | distinct CVEs | read as; refused because |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, t in data["tools"].items():
        why = ", ".join(f"{k} {v}" for k, v in t["read_as"].items())
        if t["refusals"]:
            why += ("; " if why else "") + "; ".join(f"{v}x {k}" for k, v in t["refusals"].items())
        out.append(
            f"| {name} | {t['files']} | {t['read']} | {t['refused']} | {t['findings']:,} | {t['cves']:,} | "
            f"{why.replace('|', '/')} |"
        )
    tot = data["total"]
    out.append(
        f"| **all {len(data['tools'])}** | {tot['files']} | {tot['read']} | {tot['refused']} | "
        f"{tot['findings']:,} | | |"
    )
    return out


def speed(data: dict[str, Any]) -> list[str]:
    out = [
        f"On {data['machine']['cpus']} CPUs (load average "
        f"{', '.join(f'{x:.1f}' for x in data['machine']['load'])} at the end of the run), EPSS of "
        f"{data['at']}, records `{data['inputs']['cves']}`:",
        "",
        "| run | cold: wall (s), CPU (s) | warm: wall (s), each run | warm: CPU (s) | peak memory (MB) | rows out |",
        "|---|---|---|---|---|---:|",
    ]
    for name, v in data.items():
        if isinstance(v, dict) and "runs" in v:
            runs, cold = v["runs"], v.get("cold")
            first = f"{cold['wall_s']}, {cold['cpu_s']}" if cold else "-"
            out.append(
                f"| `vuln rank`, {name} | {first} | {', '.join(str(r['wall_s']) for r in runs)} | "
                f"{', '.join(str(r['cpu_s']) for r in runs)} | "
                f"{max(r['max_rss_mb'] for r in [*runs, *([cold] if cold else [])])} | {runs[0]['rows']:,} |"
            )
    out += ["", "| stage (one process) | seconds |", "|---|---:|"]
    out += [f"| {k} | {v} |" for k, v in data.get("stages_s", {}).items()]
    return out


def ablation(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "| ranked on | corrections kept on top of EPSS | model AP | AP / EPSS AP | coverage at 1% |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['at']} | {r['variant']} | {_ci(r['ap'], '.4f')} | {_ci(r['ap_ratio'], '.2f')} | "
            f"{_rate(r['coverage_1'])} |"
        )
    return out


def replace(text: str, name: str, lines: list[str]) -> str:
    begin, end = f"<!-- vuln:{name}:begin -->", f"<!-- vuln:{name}:end -->"
    if begin not in text or end not in text:
        raise SystemExit(f"{DOC}: markers for {name!r} missing")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return head + begin + "\n" + "\n".join(lines) + "\n" + end + tail


def main() -> None:
    text = DOC.read_text(encoding="utf-8")
    evals: list[str] = []
    for path in sorted(RESULTS.glob("vuln-evaluation-*.json")):
        evals += [*evaluation(json.loads(path.read_text(encoding="utf-8"))), ""]
    text = replace(text, "evaluation", evals[:-1])
    abl = RESULTS / "vuln_ablation.json"
    if abl.is_file():
        text = replace(text, "ablation", ablation(json.loads(abl.read_text(encoding="utf-8"))))
    text = replace(text, "reports", reports(json.loads((RESULTS / "vuln_reports.json").read_text())))
    text = replace(text, "speed", speed(json.loads((RESULTS / "vuln_speed.json").read_text())))
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
