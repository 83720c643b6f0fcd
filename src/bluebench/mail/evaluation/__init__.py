"""Honest evaluation of the phishing model: time split, k-fold, ablations, era checks, drift.

``run.evaluate`` runs it all and returns ``results.MailEvaluation``; each module holds one
part, its typed result and how a terminal shows it.

Every figure is computed here and stored as JSON; nothing is typed by hand. Rates carry
their counts and 95% Wilson intervals; F1 and PR-AUC carry bootstrap intervals.

* **Time split**: within each source (labels CSV ``source`` column), the oldest share of
  messages trains and the newest part tests, so every test message is newer than every
  training message of its stream. A single global date cut would put all 2002-2005 mail
  in training and only 2019+ mail in testing, i.e. test whether 2004 phishing predicts
  2024 phishing: that line is reported too (``cross_era``).
* **Positive class** is phishing; recall counts phishing only; the false-positive rate
  counts ham only; spam flagged as phishing is reported on its own line and counts
  against precision, never for recall.
* **Retraining** (``retraining``): the test part scored month by month by a model refitted
  as labelled mail arrives, either every message or only what the review queue showed an
  analyst; it tells drift that new labels fix from misses that stay.
* **Thresholds** are chosen on out-of-fold *training* scores, never on the test part. The
  one exception is labelled *hindsight* and never ships: recall at the threshold set on the
  test part's own ham, the ceiling of any threshold rule, which tells a model that cannot
  rank the test mail from a threshold that did not carry over to it.
"""
