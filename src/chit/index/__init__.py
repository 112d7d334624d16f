"""The index: a derived, disposable SQLite cache over the store, for
listing, key lookup and search (see docs/architecture.md).

`db` holds the connection and the refresh from the files; `dirs` lists the
session directories and reads what the index recorded of them; `rows` reads a
session file into its rows; `fold` is the fold one event at a time;
`search` answers queries, confirming every hit in the files; `snippets`
finds a query in a text and cuts the snippet around it; `usage` counts
messages, turns and tokens per session and day for `stats`; `check` compares
the index with the files for `chit doctor`; `schema` is the SQL.

Deleting the index loses nothing. It imports only the store and the model,
never the service or a surface above it.

`Stale` is here, not in `search` which raises it: every reader of the
index catches it (`chit.service.base`), and a read that searches nothing
(`load ID`, `show ID`) need not load the search for that.
"""


class Stale(Exception):
    """A session file changed under a search; refresh and retry."""

    def __init__(self, message: str, sid: int) -> None:
        super().__init__(message)
        self.sid = sid
