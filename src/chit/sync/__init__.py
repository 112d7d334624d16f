"""Sync of a store's shared part through git (docs/sync.md).

`git` runs git; `state` is this machine's record of its sync and the sync
lock; `mirror` moves lines between the live store and the mirror;
`incoming` brings a merge's lines in; `run` is `chit sync` itself. The
package sits above the service (it uses its context to read and place
sessions) and below the API and the surfaces; it never prints.
"""
