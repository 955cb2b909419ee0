"""pbtool: import street rosters and resource lists, find Party-building blind spots, write reports."""

__version__ = "0.1.0"
