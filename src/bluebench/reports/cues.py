"""The English cue words that bind a number to what it measures and what it is about, one table each.

Drill answers and documents checked by ``verify`` say "overall", "the log-clearing detector",
"right 9 times in 10 when it fired"; these tables are how those words are read. Each entry is
a regular expression matched case-insensitively on whole words (:func:`compile_words`), so a
finding can be explained by pointing at one entry. The names of detectors, techniques and
data sets are not listed here: :mod:`bluebench.reports.subjects` builds them from the
registries. ``tests/reports/test_cues.py`` holds an example sentence for every entry.
"""

from __future__ import annotations

import re

__all__ = [
    "FIRING_WORDS",
    "METRIC_OBJECTS",
    "METRIC_PHRASES",
    "OVERALL_WORDS",
    "REVIEW_WORDS",
    "STOPWORDS",
    "SUBJECT_FILLER",
    "WEAK_SUBJECT_WORDS",
    "compile_phrase",
    "compile_words",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def compile_words(patterns: list[str] | tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive alternation, whole words only, longest alternatives first; a space in a
    pattern matches any run of white space, so a phrase still matches across a line break."""
    alts = sorted(patterns, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(_spaces(a) for a in alts) + r")(?![\w-])", re.IGNORECASE)


def compile_phrase(pattern: str) -> re.Pattern[str]:
    """A case-insensitive pattern whose spaces match any white space (lines wrap in an answer)."""
    return re.compile(_spaces(pattern), re.IGNORECASE)


def _spaces(pattern: str) -> str:
    """Literal spaces outside character classes become ``\\s+`` (an optional one, ``' ?'``, ``\\s*``)."""
    out: list[str] = []
    depth, i = 0, 0
    while i < len(pattern):
        ch = pattern[i]
        escaped = i > 0 and pattern[i - 1] == "\\"
        if ch == "[" and not escaped:
            depth += 1
        elif ch == "]" and not escaped and depth:
            depth -= 1
        if ch == " " and not depth:
            if escaped:  # re.escape writes a space as "\\ "
                out.pop()
            optional = pattern[i + 1 : i + 2] == "?"
            out.append(r"\s*" if optional else r"\s+")
            i += 2 if optional else 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


# Phrase -> metric. Longer phrases win over the words inside them ("average precision"). The
# metric "correctness" is decided by its clause: precision when it speaks of alerts firing
# (FIRING_WORDS), accuracy otherwise ("correct 95% of the time" names no class).
_OF_THE_TIME = (
    r"(?=\s+(?:in\s+)?(?:about\s+|around\s+|roughly\s+|nearly\s+)?(?:[\d.,]+|[a-z]+)\s*(?:%|percent)?\s*"
    r"(?:of the time|of cases|of its calls|times? (?:in|out of) (?:\d|[a-z])))"
)
METRIC_PHRASES: list[tuple[str, str]] = [
    (r"average precision|pr[- ]auc|auprc|area under the precision[- ]recall curve", "pr_auc"),
    (r"roc[- ]auc|auroc|auc|area under the (?:roc )?curve", "roc_auc"),
    (
        r"false[- ]alarm rate (?:of|among|on) (?:the |its |our |all )?(?:[\w-]+ ){0,3}?(?:alerts|flags|detections)|"
        r"(?:alerts?|flags?|detections?)(?: it raised| that fired| raised)? (?:were|was|are|is|turned out to be) "
        r"(?:an? )?(?:false (?:alarms?|positives?)|noise|benign|wrong)|false[- ]discovery rate",
        "fdr",
    ),
    (
        r"false[- ]positive rate|fpr|false[- ]alarm rate|false[- ]positive ratio|"
        r"false (?:alarms|positives) on (?:benign|clean|normal|legitimate)",
        "fpr",
    ),
    (
        r"false[- ]negative rate|fnr|miss rate|missed|misses|"
        r"of (?:the |all )?(?:attacks|intrusions) (?:through|past|undetected)|"
        r"(?:slipped|slip|slips|got|get|went|go|let) (?:through|past|undetected)",
        "fnr",
    ),
    (r"true[- ]negative rate|specificity", "specificity"),
    (
        r"true[- ]positive rate|tpr|detection rate|sensitivity|recall|hit rate|"
        r"caught|catch(?:es)?|found|finds|detected|detects|picked up|identified|spotted|surfaced|uncovered",
        "recall",
    ),
    (
        r"precision|positive predictive value|ppv|"
        r"(?:alerts?|flags?|detections?|alarms?|hits?)(?: it raised| that fired| raised)? "
        r"(?:were|was|are|is|turned out to be|pointed (?:at|to)|matched) (?:an? )?"
        r"(?:real|genuine|true positives?|true|correct|right|actual)(?: attacks?| intrusions?| incidents?)?|"
        r"(?:was|were|is) genuine|precise",
        "precision",
    ),
    (r"f1(?:[- ]score)?|f[- ]score|f[- ]measure", "f1"),
    (r"accuracy|accurate|(?<=%\s)reliable|(?<=percent\s)reliable", "accuracy"),
    (r"(?:right|correct|spot on)" + _OF_THE_TIME + r"|(?<=%\s)correct|(?<=percent\s)correct", "correctness"),
    (r"mttd|mean time to detect(?:ion)?|time to detect(?:ion)?|dwell time", "mttd"),
    (
        r"mttr|mean time to (?:respond|response|resolve|resolution|remediate|triage)|time to (?:respond|triage)",
        "mttr",
    ),
]

# What a rate is a share of, said after it ("85% of the labelled intrusions", "2% of benign files"):
# the metric when no metric word stands nearer ("let through 6% of phishing" is a miss rate).
METRIC_OBJECTS: list[tuple[str, str]] = [
    (
        r"(?:of (?:the |all |our )?)?(?:benign|clean|normal|legitimate) (?:files|events|mail|messages|logons|hosts|traffic)",
        "fpr",
    ),
    (
        r"(?:of (?:the |all |our )?)?(?:labell?ed |known |real |simulated )?(?:[A-Za-z][\w-]* ){0,2}?"
        r"(?:attacks|intrusions|attack instances|campaigns|attempts)|of (?:the )?phishing",
        "recall",
    ),
]

# Words that say a rate is about alerts the detector raised, so "right N% of the time" is precision.
FIRING_WORDS = [
    r"fired",
    r"fires",
    r"firing",
    r"alerted",
    r"alerts?",
    r"flagged",
    r"flags",
    r"raised",
    r"alarms?",
    r"went off",
]

# A claim about the whole run: compared with the overall figures, never with one detector's.
OVERALL_WORDS = [
    r"overall",
    r"all told",
    r"in total",
    r"in all",
    r"all together",
    r"altogether",
    r"combined",
    r"as a whole",
    r"across the board",
    r"across (?:all|every|the|our) (?:of (?:the|our) )?(?:\w+ )?detectors?",
    r"(?:all|every one of|each of) (?:the |our |of the |of our )?detectors",
    r"(?:the|our) detectors",
    r"(?:the|our) (?:whole|entire|full) (?:run|system|pipeline|suite|set of detectors|programme|program|stack)",
    r"across the (?:whole|entire) \w+",
    r"(?:the|our) (?:detection )?(?:pipeline|suite|system)",
]

# Precision as people judged it: the review store's verdicts, not the labels.
REVIEW_WORDS = [
    r"(?:from|by|in) (?:the |their |our )?(?:analysts'? |reviewers'? )?verdicts",
    r"as (?:judged|confirmed) by (?:the |our )?(?:analysts|reviewers|people)",
    r"(?:analysts|reviewers) confirmed",
    r"verdict precision",
]

# Function words a subject's name is read without ("the log-clearing detector" = "log clearing").
STOPWORDS = _words(
    "a an the of for from to in on at by with against one its our my their his her this that these those "
    "and or as is was were be been it which who when where than then there here we i after before another"
)
# Words that only say "a detector" and never which one.
SUBJECT_FILLER = _words(
    "detector detectors detection detections rule rules model models alert alerts signal signals "
    "analytic analytics check checks logic"
)
# Words too common in speech to name a subject alone ("log", "valid", "change"): they name one only
# with another word of its name ("log clearing", "valid accounts", "group membership change").
WEAK_SUBJECT_WORDS = _words(
    "log logs event events account accounts logon logons source sources host hosts user users service "
    "services share shares group groups ticket tickets kerberos password passwords credential credentials "
    "new unusual windows type day hour session admin other many one valid change changes match matches "
    "pass passes success successful failure failures failed access add added force remote local domain "
    "discovery execution material alternate authentication abuse privileged install installed rep filter "
    "process processes task tasks memory management parent over named pipe pipes dump secret secrets"
)
