"""Pure statistical estimators on NumPy arrays, each checked against R (``tests/reference/``)."""
