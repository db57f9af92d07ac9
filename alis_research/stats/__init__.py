"""Pure statistical estimators on NumPy arrays and plain frames, each checked against R."""
