"""Scoring many submissions at once."""
