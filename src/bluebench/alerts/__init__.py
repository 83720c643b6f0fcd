"""The alerts stage: storing detector output with its evidence, and reading it back ranked."""
