"""unitecon: cited assumptions in, live-formula unit-economics workbooks out."""

__version__ = "0.1.0"
