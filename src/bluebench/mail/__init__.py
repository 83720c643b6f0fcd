"""Phishing mail: read messages, extract named features, train, score with reasons, evaluate."""
