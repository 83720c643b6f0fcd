"""The events stage: normalization of raw batches and the DuckDB workspace that stores them."""
