"""The plain way to search the session files: read each one, lowercase it,
look for the word; print the files that hold it (like `rg -i -l`).

    python bench/plainscan.py WORD DIR
"""

import os
import sys

word, root = sys.argv[1].lower(), sys.argv[2]
for directory, _, names in os.walk(root):
    for name in names:
        if name.endswith(".jsonl"):
            path = os.path.join(directory, name)
            with open(path, encoding="utf-8", errors="replace") as handle:
                if word in handle.read().lower():
                    print(path)
