"""The web app of `maskdepth serve` (app.py) and its page (static/)."""
