"""The service layer: every operation users can ask for (see `chit.api`)."""
