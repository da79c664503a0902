"""Scorers, one file per benchmark rule. A scorer takes (reference, answer) data and returns
plain dicts of numbers; answers of None are failed generations and always count as wrong."""
