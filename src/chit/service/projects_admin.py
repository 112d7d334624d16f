"""Projects by name: rename a project, remove an empty one.

Invariants:
- a rename changes only the `name` in `project.json` (one atomic replace
  under the project's lock): the slug, the key and every session file stay
  as they are; the old name joins `aliases`, so `-p OLD` still finds the
  project and never makes a second one in the same directory;
- a new name that already names another project is refused (CONFLICT);
- only an empty project is removed: no live and no trashed session. The
  check and the removal happen under the project's lock, and removing
  `project.json` is the single step that makes the project gone; what
  follows (its current.json, lock, change journals and empty directories)
  is housekeeping that a crash may leave behind harmlessly. A file chit
  does not know keeps its directory.
"""

from __future__ import annotations

from dataclasses import replace

from chit.errors import Ambiguous, Conflict, NotFound
from chit.model import Project
from chit.store.projects import validate_name
from chit.service.project_moves import ProjectOps


class ProjectAdminOps(ProjectOps):
    def rename_project(self, spec: str, new_name: str) -> Project:
        """Give project `spec` (name, slug, alias or path) the name
        `new_name`; returns the project as it is now."""
        project = self.find_project(spec)
        name = validate_name(new_name)
        self._refuse_taken_name(project, name)
        with self.store.project_lock(project.slug):
            current = self.projects.get(project.slug)
            if current is None:
                raise NotFound(f"project {project.name!r} was removed or moved meanwhile; nothing was renamed")
            if current.name == name:
                return current
            aliases = [a for a in (*current.aliases, current.name) if a != name]
            renamed = replace(current, name=name, aliases=tuple(dict.fromkeys(aliases)))
            self.projects.write(renamed)
        return renamed

    def _refuse_taken_name(self, project: Project, name: str) -> None:
        try:
            holder = self.projects.named(name, create=False)
        except NotFound:
            return
        except Ambiguous:
            raise Conflict(f"{name!r} already names several projects; choose another name") from None
        if holder.slug != project.slug:
            raise Conflict(f"{name!r} already names project {holder.slug} ({holder.path or 'no path'}); choose another name")

    def remove_project(self, spec: str) -> Project:
        """Remove project `spec` if it holds no session, live or trashed;
        returns the project removed. CONFLICT (nothing removed) otherwise."""
        project = self.find_project(spec)
        store, layout = self.store, self.layout
        with store.project_lock(project.slug):
            live = len(store.session_ids(project.slug))
            trashed = len(store.session_ids(project.slug, trash=True))
            if live or trashed:
                raise Conflict(_not_empty(project, live, trashed), sessions=live, trashed=trashed)
            store.unlink(layout.project_file(project.slug))
            store.unlink(layout.current_file(project.slug))
            for trash in (False, True):
                store.unlink(layout.changes_file(project.slug, trash))
            store.unlink(layout.project_dir(project.slug) / ".lock")
            # still under the lock: a writer that waited for it finds the record gone and refuses
            for directory in (layout.sessions_dir(project.slug), layout.trash_dir(project.slug), layout.project_dir(project.slug)):
                try:
                    directory.rmdir()
                except OSError:
                    pass  # not empty (a file chit does not know) or already gone
        return project


def _not_empty(project: Project, live: int, trashed: int) -> str:
    held = []
    if live:
        held.append(f"{live} session{'' if live == 1 else 's'} (`chit rm` or `chit projects mv` them first)")
    if trashed:
        held.append(f"{trashed} in the trash (`chit trash --empty -p {project.slug}` deletes them)")
    return f"project {project.name!r} is not empty: it holds {' and '.join(held)}; nothing was removed"
