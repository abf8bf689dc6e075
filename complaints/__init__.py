"""Complaints ("reklamacje"): tickets with SLA clocks, threads, canned responses and
satisfaction ratings."""
