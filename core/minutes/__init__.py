"""Minutes (会议纪要) rendered from the meeting record as HTML and PDF."""
