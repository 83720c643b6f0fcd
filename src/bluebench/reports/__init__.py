"""The last stage: charts, timelines, case-study reports and the facts they cite, all verifiable."""
