"""drill ask: questions for the candidate to ask the team, every topic for each role, in its own words."""

from __future__ import annotations

import pytest

from bluebench.drill import ROLES, questions_to_ask
from bluebench.drill.ask import TOPICS
from bluebench.errors import ConfigError


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_every_topic_in_its_own_words(role: str) -> None:
    qs = questions_to_ask(role)
    assert [q.topic for q in qs[: len(TOPICS)]] == list(TOPICS)
    assert len(qs) > len(TOPICS)
    others = {q.text for r in ROLES if r != role for q in questions_to_ask(r)}
    assert not {q.text for q in qs} & others
    assert all(q.text.endswith("?") and q.listen_for for q in qs)


def test_ask_covers_validation_of_ai_detections_and_genai_boundaries() -> None:
    texts = " ".join(q.text.lower() for r in ROLES for q in questions_to_ask(r))
    for words in ("ai-generated detection", "generative ai", "threshold", "false positive", "owner"):
        assert words in texts


def test_unknown_role_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="soc-analyst"):
        questions_to_ask("ciso")
