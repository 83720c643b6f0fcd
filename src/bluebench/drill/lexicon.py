"""The word lists the answer checks use, kept in one place so a reviewer can read every rule.

Each entry is a regular expression matched case-insensitively on word boundaries. They are
deliberately small and explicit: a finding must be explainable by pointing at one entry.
"""

from __future__ import annotations

import re

__all__ = [
    "ABSOLUTES",
    "BUZZWORDS",
    "CHANGE_AFTER",
    "CHANGE_BEFORE",
    "CONCRETE_VERBS",
    "CONFIDENCE_AFTER",
    "COVERAGE",
    "FILLERS",
    "METRIC_PHRASES",
    "STRUCTURE",
    "TOOLS",
    "compile_words",
]


def compile_words(patterns: list[str] | tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive alternation, whole words only, longest alternatives first."""
    alts = sorted(patterns, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(alts) + r")(?![\w-])", re.IGNORECASE)


# Phrase -> metric. Longer phrases win over the words inside them ("average precision").
METRIC_PHRASES: list[tuple[str, str]] = [
    (r"average precision|pr[- ]auc|auprc|area under the precision[- ]recall curve", "pr_auc"),
    (r"roc[- ]auc|auroc|auc|area under the (?:roc )?curve", "roc_auc"),
    (r"false[- ]positive rate|fpr|false[- ]alarm rate|false[- ]positive ratio", "fpr"),
    (r"false[- ]negative rate|fnr|miss rate", "fnr"),
    (r"true[- ]negative rate|specificity", "specificity"),
    (r"true[- ]positive rate|tpr|detection rate|sensitivity|recall|hit rate", "recall"),
    (r"precision|positive predictive value|ppv", "precision"),
    (r"f1(?:[- ]score)?|f[- ]score|f[- ]measure", "f1"),
    (r"accuracy|accurate", "accuracy"),
    (r"mttd|mean time to detect(?:ion)?|time to detect(?:ion)?", "mttd"),
    (r"mttr|mean time to (?:respond|response|resolve|resolution|remediate)", "mttr"),
]

# A number right after these words is a change ("cut false positives by 80%"), not a level.
CHANGE_BEFORE = re.compile(
    r"(?:\bby|reduced|reducing|cut|cutting|dropped|improved|increased|lowered|saved|saving|"
    r"decreased|boosted|raised)\s+(?:about\s+|roughly\s+|around\s+|over\s+|nearly\s+|almost\s+|some\s+)?$",
    re.IGNORECASE,
)
CHANGE_AFTER = re.compile(
    r"^\s*(?:%|percent|per cent)?\s*(?:fewer|less|lower|reduction|drop|decrease|more|higher|increase|"
    r"faster|slower|improvement|better|worse|of the time)\b",
    re.IGNORECASE,
)
# "95% confidence", "95% interval", "95% CI": a confidence level, not a claim about the run.
CONFIDENCE_AFTER = re.compile(
    r"^\s*(?:%|percent)?\s*(?:confidence|ci|interval|credible|wilson)\b", re.IGNORECASE
)

ABSOLUTES: list[tuple[str, str]] = [
    (
        r"eliminat(?:ed|es|e|ing)",
        "nothing measured here removes a threat class; say what fell and by how much",
    ),
    (
        r"100\s?%|100 percent|one hundred percent",
        "a perfect rate on a sample has an interval; give the count (k of n)",
    ),
    (
        r"fully[- ]automated|fully[- ]autonomous|completely automated|no human (?:needed|involved)",
        "say what a person still decides and where automation stops",
    ),
    (
        r"zero false[- ]positives|no false[- ]positives|zero false alarms|no false alarms",
        "give the measured false-positive rate and the volume it applies to",
    ),
    (
        r"zero false[- ]negatives|no false[- ]negatives",
        "give the measured recall and what it was measured on",
    ),
    (
        r"never miss(?:es|ed)?|misses nothing|missed nothing|catch(?:es)? everything|caught everything|catch(?:es)? all|caught all|every single attack|(?:detect(?:s|ed)?|stop(?:s|ped)?|block(?:s|ed)?) all attacks",
        "give the measured recall and name what it was not tested on",
    ),
    (
        r"perfect(?:ly)?|flawless(?:ly)?|bullet-?proof|foolproof|guarantee[sd]?|impossible to (?:evade|bypass)|unbeatable",
        "replace with a measured figure and its interval",
    ),
    (
        r"solved|always detects|always catches|completely (?:stopped|solved|removed)",
        "say what remains and how you would know",
    ),
]

BUZZWORDS = [
    r"ai[- ]powered",
    r"ai[- ]driven",
    r"cutting[- ]edge",
    r"state[- ]of[- ]the[- ]art",
    r"next[- ]gen(?:eration)?",
    r"leverag(?:e|ed|es|ing)",
    r"synerg(?:y|ies|istic)",
    r"revolutioni[sz](?:e|ed|ing)|revolutionary",
    r"game[- ]chang(?:er|ing)",
    r"best[- ]in[- ]class",
    r"world[- ]class",
    r"seamless(?:ly)?",
    r"military[- ]grade",
    r"paradigm shift",
    r"holistic",
    r"disruptive",
    r"magic(?:al)?",
    r"supercharg(?:e|ed|ing)",
    r"turbocharg(?:e|ed|ing)",
    r"end[- ]to[- ]end ai",
    r"hyper[- ]automation",
    r"self[- ]healing",
]

# Tools and products an answer may name; named without what they did, they are decoration.
TOOLS = [
    r"splunk",
    r"sentinel",
    r"microsoft sentinel",
    r"elastic(?:search)?",
    r"elk",
    r"kibana",
    r"qradar",
    r"crowdstrike",
    r"falcon",
    r"defender",
    r"sigma",
    r"yara",
    r"zeek",
    r"suricata",
    r"snort",
    r"chronicle",
    r"tensorflow",
    r"pytorch",
    r"keras",
    r"scikit[- ]learn",
    r"sklearn",
    r"xgboost",
    r"lightgbm",
    r"langchain",
    r"llamaindex",
    r"gpt-?4o?",
    r"gpt-?3\.5",
    r"chatgpt",
    r"openai",
    r"claude",
    r"copilot",
    r"llm",
    r"llms",
    r"bert",
    r"kafka",
    r"spark",
    r"databricks",
    r"snowflake",
    r"duckdb",
    r"jupyter",
    r"soar",
    r"xsoar",
    r"phantom",
    r"misp",
    r"osquery",
    r"velociraptor",
    r"sysmon",
    r"wazuh",
    r"airflow",
    r"kubernetes",
    r"docker",
    r"terraform",
    r"pandas",
    r"hugging ?face",
    r"vector database",
    r"rag",
]
# Verbs that say what a tool concretely did; a tool in a sentence with one of these, or with a
# number, is described rather than dropped.
CONCRETE_VERBS = [
    r"detect(?:s|ed|ing)?",
    r"pars(?:e|es|ed|ing)",
    r"scor(?:e|es|ed|ing)",
    r"stor(?:e|es|ed|ing)",
    r"quer(?:y|ies|ied|ying)",
    r"join(?:s|ed|ing)?",
    r"group(?:s|ed|ing)?",
    r"rank(?:s|ed|ing)?",
    r"train(?:s|ed|ing)?",
    r"label(?:s|ed|led|ing|ling)?",
    r"measur(?:e|es|ed|ing)",
    r"count(?:s|ed|ing)?",
    r"flag(?:s|ged|ging)?",
    r"filter(?:s|ed|ing)?",
    r"dedup(?:e|ed|licated|licate)?",
    r"extract(?:s|ed|ing)?",
    r"normali[sz](?:e|es|ed|ing)",
    r"comput(?:e|es|ed|ing)",
    r"ingest(?:s|ed|ing)?",
    r"correlat(?:e|es|ed|ing)",
    r"enrich(?:es|ed|ing)?",
    r"classif(?:y|ies|ied|ying)",
    r"cluster(?:s|ed|ing)?",
    r"tun(?:e|es|ed|ing)",
    r"validat(?:e|es|ed|ing)",
    r"evaluat(?:e|es|ed|ing)",
    r"quarantin(?:e|es|ed|ing)",
    r"block(?:s|ed|ing)?",
    r"search(?:es|ed|ing)?",
    r"index(?:es|ed|ing)?",
    r"replay(?:s|ed|ing)?",
    r"compar(?:e|es|ed|ing)",
    r"forward(?:s|ed|ing)?",
    r"collect(?:s|ed|ing)?",
    r"summari[sz](?:e|es|ed|ing)",
    r"match(?:es|ed|ing)?",
    r"alert(?:s|ed|ing)?",
]

# Situation / action / result / lesson: the cue words that show each part is there.
STRUCTURE: dict[str, list[str]] = {
    "situation": [
        r"the problem",
        r"the challenge",
        r"the situation",
        r"the context",
        r"we had",
        r"we were",
        r"our team",
        r"the team",
        r"backlog",
        r"there (?:were|was)",
        r"was facing",
        r"were facing",
        r"was drowning",
        r"were drowning",
        r"at the time",
        r"when i joined",
        r"our soc",
        r"analysts (?:were|had)",
        r"(?:each|every|a|per) day",
    ],
    "action": [
        r"i (?:built|wrote|trained|designed|chose|set|implemented|added|tuned|measured|labell?ed|"
        r"split|compared|grouped|replaced|ran|used|wired|picked|created|started|defined|deployed|"
        r"reviewed|tested|checked|moved|rewrote|changed)",
        r"we (?:built|wrote|trained|designed|chose|set|implemented|added|tuned|measured|labell?ed|"
        r"split|compared|grouped|replaced|ran|used|deployed|reviewed|tested)",
        r"my (?:role|part|job) was",
        r"my approach",
    ],
    "result": [
        r"as a result",
        r"the result",
        r"result(?:ed)? in",
        r"precision",
        r"recall",
        r"false[- ]positive rate",
        r"caught",
        r"reduced",
        r"cut",
        r"dropped",
        r"went (?:from|down|up)",
        r"improved",
        r"outcome",
        r"in the end",
        r"saved",
    ],
    "lesson": [
        r"i learn(?:ed|t)",
        r"we learn(?:ed|t)",
        r"lesson",
        r"next time",
        r"in hindsight",
        r"looking back",
        r"i would (?:now|do|have|change|start|next)",
        r"i'd (?:do|have|change|start|now)",
        r"would do differently",
        r"should have",
        r"takeaway",
        r"what i would improve",
        r"taught me",
    ],
}

# Things an interviewer listens for; missing validation or human review blocks.
COVERAGE: dict[str, list[str]] = {
    "validation": [
        r"validat(?:e|ed|ing|ion)",
        r"held[- ]out",
        r"hold[- ]out",
        r"test set",
        r"test data",
        r"cross[- ]validat(?:ed|ion)",
        r"k[- ]fold",
        r"\d+[- ]fold",
        r"labell?ed",
        r"labels?",
        r"ground truth",
        r"time split",
        r"split by (?:time|date|month|source)",
        r"backtest(?:ed|ing)?",
        r"confusion matrix",
        r"interval",
        r"measured (?:it )?(?:against|on)",
        r"evaluated (?:it )?(?:against|on)",
        r"out[- ]of[- ]fold",
    ],
    "human_oversight": [
        r"analysts?",
        r"reviewers?",
        r"human(?:s)?",
        r"a person",
        r"people",
        r"manual(?:ly)? review(?:ed)?",
        r"review(?:s|ed|ing)?",
        r"verdicts?",
        r"sign[- ]off",
        r"approv(?:e|ed|al|es)",
        r"in the loop",
        r"escalat(?:e|ed|es|ion)",
        r"on[- ]call",
        r"triage(?:d)?",
    ],
    "trade_offs": [
        r"trade[- ]?offs?",
        r"at the cost of",
        r"the cost",
        r"cost(?:s)? us",
        r"balance(?:d)?",
        r"threshold",
        r"budget",
        r"versus",
        r"vs\.?",
        r"instead of",
        r"in exchange",
        r"gave up",
        r"chose .{0,40} over",
        r"rather than",
        r"fewer .{0,40} but",
    ],
    "limits": [
        r"limit(?:s|ation|ations|ed)?",
        r"blind[- ]spots?",
        r"does(?: not|n't)",
        r"did(?: not|n't)",
        r"can(?:not|'t)",
        r"won't",
        r"missed",
        r"misses",
        r"not measured",
        r"never measured",
        r"drift(?:ed|s)?",
        r"caveat",
        r"only (?:works|covers|on|for|tested)",
        r"wasn't",
        r"weak(?:est|ness)?",
        r"unknown",
    ],
}

FILLERS = [
    r"basically",
    r"you know",
    r"kind of",
    r"sort of",
    r"stuff",
    r"and so on",
    r"etc\.?",
    r"lots of things",
    r"a bunch of",
    r"i mean",
    r"literally",
    r"to be honest",
    r"and things like that",
    r"whatever",
    r"anyway",
]
