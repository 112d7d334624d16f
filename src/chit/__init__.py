"""chit: a terminal chat-session manager. The Python API is `chit.api.Chit`."""

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # `from chit import Chit` without importing the store on `import chit`
    if name == "Chit":
        from chit.api import Chit

        return Chit
    raise AttributeError(name)
