"""The word lists the answer checks use, kept in one place so a reviewer can read every rule.

Each entry is a regular expression matched case-insensitively on word boundaries. They are
deliberately small and explicit: a finding must be explainable by pointing at one entry. The
words that bind a number to its metric and its subject (shared with ``verify``) are in
:mod:`bluebench.reports.cues`; ``tests/drill/test_lexicon.py`` holds an example for each entry.
"""

from __future__ import annotations

import re

from bluebench.reports.cues import compile_phrase, compile_words

__all__ = [
    "ABSOLUTES",
    "ACCURACY_PRAISED",
    "BUZZWORDS",
    "CHANGE_AFTER",
    "CHANGE_BEFORE",
    "CONCRETE_VERBS",
    "CONFIDENCE_AFTER",
    "CONTEXT_NOUNS",
    "COUNT_BOUNDS",
    "COUNT_NOUNS",
    "COVERAGE",
    "FILLERS",
    "NEGATIONS",
    "NEUTRAL_MODIFIERS",
    "NOT_MEASURED",
    "NO_HUMAN",
    "PART_OF_ONE",
    "RUN_CONTEXT",
    "STRUCTURE",
    "TOOLS",
    "compile_words",
]

# A number right after these words is a change ("cut false positives by 80%"), not a level.
CHANGE_BEFORE = re.compile(
    r"(?:\bby|reduced|reducing|cut|cutting|dropped|improved|increased|lowered|saved|saving|"
    r"decreased|boosted|raised)\s+(?:about\s+|roughly\s+|around\s+|over\s+|nearly\s+|almost\s+|some\s+)?$",
    re.IGNORECASE,
)
CHANGE_AFTER = re.compile(
    r"^\s*(?:%|percent|per cent)?\s*(?:fewer|less|lower|reduction|drop|decrease|more|higher|increase|"
    r"faster|slower|improvement|better|worse)\b",
    re.IGNORECASE,
)
# "95% confidence", "95% interval", "95% CI": a confidence level, not a claim about the run.
CONFIDENCE_AFTER = re.compile(
    r"^\s*(?:%|percent)?\s*(?:confidence|ci|interval|credible|wilson)\b", re.IGNORECASE
)

# An absolute claim, the advice it gets, and what it claims as a measurement: "zero false positives"
# is precision 100% and FPR 0, "never misses" recall 100% (compared with the subject's figures).
ABSOLUTES: list[tuple[str, str, tuple[tuple[str, float], ...]]] = [
    (
        r"eliminat(?:ed|es|e|ing)",
        "nothing measured here removes a threat class; say what fell and by how much",
        (),
    ),
    (
        r"100\s?%|100 percent|one hundred percent",
        "a perfect rate on a sample has an interval; give the count (k of n)",
        (),
    ),
    (
        r"zero false[- ]positives|no false[- ]positives|zero false alarms|no false alarms|"
        r"never (?:raised|raises|fires|fired|gave|gives|produced|produces|generated|generates|threw|throws|had|has) "
        r"(?:a |any |a single )?false (?:alarms?|positives?)",
        "give the measured false-positive rate and the volume it applies to",
        (("precision", 1.0), ("fpr", 0.0)),
    ),
    (
        r"zero false[- ]negatives|no false[- ]negatives|never miss(?:es|ed)?(?: an? attack| anything)?|"
        r"misses nothing|missed nothing|catch(?:es)? (?:everything|every (?:single )?attack|all attacks|all of them)|"
        r"caught (?:everything|every (?:single )?attack|all attacks|all of them)|catch(?:es)? all|caught all|"
        r"every single attack|(?:detect(?:s|ed)?|stop(?:s|ped)?|block(?:s|ed)?) (?:all|every) attacks?|"
        r"every (?:single )?(?:attack|intrusion)(?: [\w-]+){0,6}? (?:was|were|got|is) (?:detected|caught|flagged|found)",
        "give the measured recall and name what it was not tested on",
        (("recall", 1.0),),
    ),
    (
        r"perfect(?:ly)?|flawless(?:ly)?|bullet-?proof|foolproof|guarantee[sd]?|impossible to (?:evade|bypass)|unbeatable",
        "replace with a measured figure and its interval",
        (),
    ),
    (
        r"solved|always detects|always catches|completely (?:stopped|solved|removed)",
        "say what remains and how you would know",
        (),
    ),
]

# The noun offered as the result ("its accuracy is excellent"), which claims it as much as a figure does.
ACCURACY_PRAISED = compile_phrase(
    r"accuracy (?:is|was|are|were|stays|stayed|remained|came out|looks|proved) (?:very |really |extremely |"
    r"consistently |now )?(?:high|excellent|great|good|strong|outstanding|superb|near[- ]perfect|perfect|"
    r"solid|impressive|top[- ]notch|unmatched)"
)

# Taking the person out of the decision: blocks, with the run's review facts in the message.
NO_HUMAN = [
    r"fully[- ]automated|fully[- ]autonomous|completely automated|lights[- ]out",
    r"(?:no|without(?: any)?) (?:human|analyst|manual|person) (?:involvement|intervention|input|oversight|"
    r"review|triage|in the loop|needed|involved|required)|no (?:analyst|person|one) in the loop",
    r"(?:closes|closed|close|resolves|resolved|dismisses|dismissed|suppresses|suppressed) (?:the |its |all |an? |"
    r"false )?(?:[\w-]+ ){0,2}?(?:alerts?|incidents?|tickets?|cases?)? ?(?:by itself|on its own|automatically|"
    r"without (?:a |any )?(?:human|analyst|person|review|one looking|anyone|anybody))",
    r"auto[- ]?(?:close[sd]?|closing|dismiss(?:es|ed)?|resolve[sd]?|remediat(?:e|es|ed|ion))",
    r"automatically (?:closes|closed|close|dismiss(?:es|ed)?|resolves?|resolved|suppress(?:es|ed)?|remediat(?:es|ed|e))",
    r"(?:no|without (?:a|any)|never needs? (?:a|an)) (?:analyst|human|person|reviewer|one)s? "
    r"(?:needs? to|has to|have to|must|ever has to|having to)? ?(?:look|review|check|touch|see|read|"
    r"look at|sign off)",
    r"(?:nobody|no-one) (?:needs? to|has to|have to|must|ever has to) (?:look|review|check|touch|see|read)|"
    r"no need for (?:an? |any )?(?:human|analyst|person|reviewer|people|analysts) to (?:look|review|check|touch|see|read)|"
    r"(?:analysts?|humans?|people|reviewers?|the team) (?:no longer|never) (?:needs?|has|have) to "
    r"(?:look|review|check|touch|see|read)",
    r"replac(?:e|es|ed|ing) (?:the |our )?analysts|removes? the need for (?:an? )?(?:analysts?|humans?|review)",
    r"(?:runs|works|operates) (?:entirely )?(?:on its own|unattended|hands[- ]off)",
    r"(?:let|lets|letting) (?:the )?(?:model|system|pipeline|ai|classifier|llm|tool) (?:make|makes|take|takes|have) "
    r"the (?:final )?(?:call|decision|say)|(?:the )?(?:model|system|pipeline|ai|classifier|llm) (?:makes|has|takes) "
    r"the (?:final )?(?:call|decision|say)",
]

# Words before a cue that turn it around: "it does not catch every attack", "nothing closes itself".
NEGATIONS = compile_phrase(
    r"\b(?:not|no|never|nothing|nor|cannot|can't|won't|isn't|doesn't|didn't|wasn't|aren't|don't|"
    r"far from|rather than|instead of|without)\b[^.;:!?]{0,40}$|n't\s+$"
)

# What a plain number counts: the word after it (singular or plural) -> the counted noun of the facts.
COUNT_NOUNS: dict[str, str] = {
    "events?|log events?|log records?|records?|log lines?|lines": "event",
    "files?|recordings?|log files?": "file",
    "alerts?|detections?|alarms?": "alert",
    "incidents?|cases?": "incident",
    "accounts?|users?|identities|identity": "account",
    "hosts?|machines?|computers?|servers?|workstations?|endpoints?|devices?": "host",
    "messages?|mails?|e-?mails?": "message",
    "detectors?": "detector",
    "connections?|flows?": "connection",  # network/connections: conn records and Argus flows
    "rules?": "detector",  # the run's detectors are its rules ("SQL rules, one detector per pattern")
}
# A count per thousand connections ("0.3 alerts per 1,000 connections"): the network facts' ``per_1000``.
PER_THOUSAND = (
    r"\s*(?:a|per|every)\s+(?:thousand|1,?000)\s+(?:connections?|flows?|flow records?|flow lines?)\b"
)
# Nouns an example often counts ("a spray against 47 accounts"): compared only in words about the run.
CONTEXT_NOUNS = frozenset({"account", "host", "detector"})
RUN_CONTEXT = compile_phrase(
    r"\b(?:in total|overall|altogether|across (?:the|all|our) (?:\w+ )?(?:run|data|detectors|environment|estate|logs|hosts|accounts|network|fleet)|distinct|unique|the (?:whole |entire )?"
    r"(?:run|data ?set|data|workspace|environment|estate|logs|corpus)|we (?:ingested|stored|processed|"
    r"collected|had|ran|built|wrote|monitored)|in (?:all|the run|the data))\b"
)
# Words between a number and its noun that keep it a count of the whole ("10,011 Windows events");
# any other word makes it a part ("47 failed logon events"), which the run stores no count of.
NEUTRAL_MODIFIERS = frozenset(
    [
        "raw",
        "windows",
        "evtx",
        "log",
        "logged",
        "labelled",
        "labeled",
        "stored",
        "security",
        "sysmon",
        "ingested",
        "individual",
        "distinct",
        "unique",
        "separate",
        "total",
        "recorded",
        "audit",
        "json",
        "input",
        "source",
        "mail",
        "email",
        "e-mail",
        "linux",
        "auth",
        "syslog",
        "winlogbeat",
        "separate",
        "different",
        "user",
        "host",
    ]
)
# A count of one thing's parts ("an incident of 4 alerts", "47 events in one file"): not the run's.
PART_OF_ONE = (
    compile_phrase(
        r"\b(?:an?|one|each|every|per|that|this|the same|a single|its)\s+(?:[a-z-]+\s+){0,2}?"
        r"(?:incident|alert|account|host|file|case|attack|burst|spray|campaign|user|machine|server|day|"
        r"hour|minute|window|message|mail|detector|example)\b[^.;:,]{0,30}$"
    ),
    compile_phrase(
        r"^\s*(?:\w+\s+){0,2}?(?:in|on|from|for|against|of|per|within|at)\s+(?:an?|one|each|a single|the same|"
        r"that|this|its)\b"
    ),
)
# A number the person chose rather than measured: "a budget of 50 alerts a day", "aim for 10 incidents".
NOT_MEASURED = compile_phrase(
    r"\b(?:budget|target|goal|capacity|cap|limit|quota|sla|aim(?:ed)?|wanted|want|could handle|can handle|"
    r"can take|could take|threshold|expect(?:ed)?|planned|plan|allowed)\b"
    r"[^.;:,]{0,20}$"
)
# Rounding the person makes explicit: (pattern right before the number, how the count is compared).
COUNT_BOUNDS: list[tuple[str, str]] = [
    (
        r"about|around|roughly|approximately|approx\.?|some|circa|~|on the order of|close to|in the region of",
        "about",
    ),
    (r"nearly|almost|just under|just shy of|a little under", "nearly"),
    (
        r"over|more than|above|at least|upwards of|north of|in excess of|beyond|well over|a little over",
        "at_least",
    ),
    (r"under|fewer than|less than|below|at most|up to|no more than", "at_most"),
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
