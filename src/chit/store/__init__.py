"""The store: the files under `CHIT_HOME`, the truth everything else derives from.

`paths` names every path; `files` and `lock` are the file-system primitives
(private modes, atomic replace, whole writes, flock with a deadline);
`codec` turns records into lines and back; `fold` replays a session's log;
`sessions` reads and writes session logs and the trash; `projects` keeps
the project records; `journal` notes which session files changed in place,
for the index. See docs/architecture.md for the format and its invariants.

Nothing here imports from the index, the service or any surface above it.
"""
