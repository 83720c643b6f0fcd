"""The last stage: timelines, case-study reports and the facts they cite, all verifiable."""
