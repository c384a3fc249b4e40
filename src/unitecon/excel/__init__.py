"""The Excel side: where rows go, the formula text, and the sheet writers."""
