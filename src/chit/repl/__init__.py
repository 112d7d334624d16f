"""The interactive REPL: chat with a model and manage the session with
slash commands. `chit.repl.loop.run` is the entry point."""
