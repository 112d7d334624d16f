"""The session picker (`chit resume`, `chit pick`, /load and /resume with
no argument): `rank` filters and orders, `state` holds what the picker
shows and does through the service, `app` is the thin prompt-toolkit
screen over them."""
