"""Determination: clocks, tracking numbers and (to come) the payer's policy."""
