"""Reading any .xlsx safely: the snapshot of cells, formulas and names, R1C1 forms, and the Fingerprint sheet."""
