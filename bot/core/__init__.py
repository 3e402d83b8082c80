"""The pure core: content, scheduling, selection, plans, statistics and rendering.

No database, no Telegram: everything here is a function of its arguments (``now`` included).
"""
