"""Meetings: the agenda, stepping through it, show-of-hands results and notes per item."""
