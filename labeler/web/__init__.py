"""Helpers of the web layer only: charts, picture rendering, JSON encoding, security headers."""
