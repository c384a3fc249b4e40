"""The round trip: a rebuild that never loses an edit (guard) and edits pulled back into the inputs file (pull)."""
