"""Readers and writers between araie's JSONL records and other annotation formats."""

from __future__ import annotations


class FormatError(ValueError):
    """Input a format cannot read, or a record it cannot carry; the message names the place."""
