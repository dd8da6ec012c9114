"""Projects: creating them, their members and counters, and their administration."""
