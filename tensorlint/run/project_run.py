"""`tensorlint check` across the modules of one project (the default; `--no-project` checks each file alone),
in three phases. The project is the files given plus the modules on disk beside them (`imported.py`), which
answer questions but are not checked.

1. **Check** every file alone (the prescreen applies, results cached as usual). Each walked file records
   what its analysis asked about other modules of the project and could not answer (*queries*: an imported
   function it called or a base class), and the calls it made into them with something specific
   (*calls out*). A file the prescreen left alone records the project names it imports (from its `ast`); if
   one of them lies in a module that was walked, the file is walked again for its calls out alone
   (`_callers_left_alone`), so that what the project finds in that module depends neither on the caller's
   own text nor on the rules selected.
2. **Summarise** the modules those name (`analysis/summarize.py`), following re-exports
   (`from .utils import to_np` in a package's `__init__`), cached per module text. A file that phase 1
   parsed brings its whole summary along from that parse (cached with its result); only the modules the
   prescreen left unparsed are parsed here. A file the prescreen left alone asks for nothing when every
   module its imports lead to can show no step and no conversion (`_idle_files`).
3. **Check again** each file whose queries got an answer that says more than "unknown",
   or that another file calls with something specific (*incoming calls*: its helper is walked with the
   caller's arguments and step loop, and a finding names the call site `file:line`; conversions are the
   exception, reported at the call in the caller's file from the helper's summary, `latent_sites`). Cached
   under the answers it was given. The prescreen still applies to TL2-TL3 (their findings sit at sites of the
   file itself); TL4 runs regardless when a step can come from elsewhere, TL1 when a function the file calls
   converts its argument (`families_beyond_prescreen`).

A file's module name comes from its path: the chain of directories holding `__init__.py` above it
(`src/pkg/utils.py` is `pkg.utils`), or its stem for a script outside any package. Two files claiming
one module name are both left out of the project's map. One round: a recheck's own calls out are not
followed further. Only `check` runs this; `fix`, `--add-noqa`, `--watch`, the flake8 plugin and the editor
check one file at a time with the summaries of what it imports (`imported.py`; docs/provenance.md, "Across
modules").
"""
from __future__ import annotations

import ast
import bisect
import json
import os
import re
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple

from tensorlint.analysis.crossmodule import IncomingCall, OutgoingCall, ProjectContext
from tensorlint.core.settings import Settings
from tensorlint.run import replay as run_replay
from tensorlint.run.cache import Cache
from tensorlint.run.check import FileResult, inspect_file
from tensorlint.run.imported import project_modules, root_of
from tensorlint.run.inputs import is_notebook
from tensorlint.run.modules import imported_names, module_places, project_imports
from tensorlint.run.summaries import Resolver, decode_context, summarize_analysed

MAX_INCOMING_PER_FILE = 32    # calls from other files walked in one file

# -- one file's part in a run (sent to workers, so plain data) ----------------------------------------
@dataclass
class ProjectFile:
    module: str
    is_package: bool
    context: Optional[dict] = None          # phase 3: the answers and incoming calls, encoded
    queries: List[str] = field(default_factory=list)
    calls_out: List[OutgoingCall] = field(default_factory=list)
    walked: bool = False
    imports: List[str] = field(default_factory=list)
    summary: Optional[dict] = None          # phase 1 of a parsed file: its own summary, from the same parse
    # what the run's import statements may name of it: () none (no summary is made), None everything
    imported: Optional[Tuple[str, ...]] = None
    # a file the prescreen left alone that the run may ask about: can its summary show no step and no conversion
    # (`_cannot_step`)? And every dotted name its import statements name (where its summary may lead)
    inert: bool = False
    leads: List[str] = field(default_factory=list)
    # NumPy names some module of the project assigns back (`np.float = np.float_`): found in every file's text
    restored_numpy: Tuple[str, ...] = ()
    # phase 1 again for a file the prescreen left alone that calls into a walked module: walked for its calls out
    walk_for_calls: bool = False

    def cache_context(self) -> str:
        return json.dumps([self.module, self.is_package, self.context, *([list(self.restored_numpy)] if self.restored_numpy
                                                                           else []),
                           *(["calls"] if self.walk_for_calls else [])],
                          sort_keys=True, separators=(",", ":"))

    def check(self, text: str, select: Sequence[str], settings: Settings, tree: Optional[ast.Module]):
        from tensorlint.api import check_source  # only on a cache miss: a warm run loads neither libcst nor the rules
        project = decode_context(self.module, self.is_package, self.context)
        project.restored_numpy_names = frozenset(self.restored_numpy)
        project.walk_for_calls = self.walk_for_calls
        diagnostics = check_source(text, None, select, None, settings=settings, tree=tree, project=project)
        self.queries = sorted(project.queries)
        self.calls_out = project.calls_out
        self.walked = project.walked
        # a walked file asks its own questions (`queries`); one the prescreen left alone is asked for by its imports
        self.imports = project_imports(tree, self.module, self.is_package) if tree is not None and not self.walked else []
        # (a package also answers for the submodules of it that the run lacks: `pkg.missing.f` resolves in `pkg`)
        if tree is not None and not self.walked and (self.imported != () or self.is_package):
            self.leads = imported_names(tree, self.module, self.is_package)
            self.inert = bool(project.screened_out and "TL1" in project.screened_out) and _cannot_step(tree)
        if self.context is None and self.imported != () and project.analysed is not None:
            self.summary = summarize_analysed(*project.analysed, self.module, self.is_package, self.imported)
        return diagnostics

    def records(self):
        return {"q": self.queries, "o": [call.encode() for call in self.calls_out], "w": self.walked,
                "i": self.imports, "s": self.summary,
                "sw": None if self.imported is None else list(self.imported), "n": self.inert, "l": self.leads}

    def restore(self, records) -> bool:
        if not isinstance(records, dict):
            return False
        try:
            self.queries, self.walked, self.imports = list(records["q"]), bool(records["w"]), list(records["i"])
            self.calls_out = [OutgoingCall.decode(call) for call in records["o"]]
            self.summary = records.get("s")
            wanted = records.get("sw")
            self.imported = None if wanted is None else tuple(wanted)
            self.inert, self.leads = bool(records.get("n", False)), list(records.get("l", []))
        except (KeyError, TypeError, ValueError):
            return False
        return True


def _cannot_step(tree: ast.Module) -> bool:
    """Necessary conditions of a summary's steps, read off the `ast`: `performs_step` needs a call that
    `loops.is_step_call` accepts (its name is step evidence), a class's `step_methods` a `for` over data."""
    # the analysis modules: on a cache miss only
    from tensorlint.analysis.ast_scan import names_in
    from tensorlint.analysis.step_names import is_step_evidence, iteration_kind
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if is_step_evidence(name):
                return False
        elif isinstance(node, (ast.For, ast.AsyncFor)) and iteration_kind(names_in(node.iter)) == "data":
            return False
    return True


# -- jobs for the worker pool --------------------------------------------------------------------
@dataclass(frozen=True)
class _Phase:
    """`check` with a project place per file (phases 1 and 3)."""
    job: object
    places: Dict[str, Tuple[str, bool, Optional[dict]]]
    restored_numpy: Tuple[str, ...] = ()

    def run(self, path: str):
        place = self.places.get(path)
        if place is None:
            return inspect_file(self.job, path).result, None
        project = ProjectFile(*place[:3], imported=place[3] if len(place) > 3 else None,
                              restored_numpy=self.restored_numpy, walk_for_calls=len(place) > 4 and place[4])
        result = inspect_file(self.job, path, project).result
        return result, project


# -- the run -------------------------------------------------------------------------------------
def check_project(job, files: Sequence[str], run_files, jobs: int) -> Iterator:
    """The results of `job` on `files`, in order, with what the project's modules tell each other; replayed
    whole when nothing the last such run read has changed (`run_replay`)."""
    cache_directory = getattr(job, "cache_directory", None)
    if cache_directory is not None:
        cache = Cache(cache_directory)
        key = run_replay.run_key(job, files)
        replayed = run_replay.load(cache, key)  # (its snapshot covers the modules beside the files: not listed again)
        if replayed is not None:
            yield from (FileResult(path, diagnostics, error) for path, diagnostics, error in replayed)
            return
        cache.make_directory()
    places = {path: (module, package, None) for path, (module, package) in module_places(files).items()
              if not is_notebook(path)}
    on_disk = _modules_on_disk(places)
    if cache_directory is None:
        yield from _check_project(job, files, run_files, jobs, places, on_disk)
        return
    snapshot = run_replay.take_snapshot(files, [path for path, _ in on_disk.values()])
    results = []
    for result in _check_project(job, files, run_files, jobs, places, on_disk):
        results.append(result)
        yield result
    if snapshot is not None:
        run_replay.store(cache, key, snapshot, results)


def _check_project(job, files: Sequence[str], run_files, jobs: int,
                   places: Dict[str, Tuple[str, bool, Optional[dict]]], on_disk: Dict[str, Tuple[str, bool]]
                   ) -> Iterator:
    restored: Set[str] = set()
    imported = imported_somewhere(places, restored)
    restored_numpy = tuple(sorted(restored))
    phase_one = {path: (*place, _names_wanted(imported, place[0])) for path, place in places.items()}
    first = list(run_files(_Phase(job, phase_one, restored_numpy), files, jobs))
    records = {path: project for path, (_, project) in zip(files, first) if project is not None}
    callers = _callers_left_alone(records, places)
    if callers:  # their findings stay phase 1's (the prescreen still holds); only their calls out are new
        again = run_files(_Phase(job, {path: (*phase_one[path], True) for path in callers}, restored_numpy),
                          callers, jobs)
        records.update((path, project) for path, (_, project) in zip(callers, again) if project is not None)
    paths_by_module: Dict[str, Tuple[str, bool]] = {}
    claimed: Dict[str, int] = {}
    for path, (module, package, _) in places.items():
        claimed[module] = claimed.get(module, 0) + 1
        paths_by_module[module] = (path, package)
    # the files given answer under the paths they were given by; the rest of the project from disk
    paths_by_module = {module: place for module, place in {**on_disk, **paths_by_module}.items()
                       if claimed.get(module, 1) == 1}

    resolver = Resolver(paths_by_module, getattr(job, "cache_directory", None), run_files, jobs)
    resolver.adopt({project.module: (project.summary, project.imported) for project in records.values()
                    if project.summary is not None})
    wanted = {path: (project.queries if project.walked else project.imports) for path, project in records.items()}
    idle = _idle_files(records, paths_by_module, resolver)
    calls = [call.callee for project in records.values() for call in project.calls_out]
    needed = [name for path, names in wanted.items() if path not in idle for name in names] + calls
    needed_modules = {resolver.wants(name)[0] for name in needed}
    # an idle file's names are summarised only where another file needs the module (its summary is then made
    # for the same names as if the idle file were not idle)
    resolver.prepare(needed + [name for path in idle for name in wanted[path]
                               if resolver.wants(name)[0] in needed_modules])
    incoming = _incoming_calls(records, resolver, job)
    idle = {path for path in idle if not any(call.in_step_loop for call in incoming.get(path, ()))}
    resolver.prepare([name for path in records if path not in idle for name in wanted[path]])
    second: Dict[str, Tuple[str, bool, Optional[dict]]] = {}
    for path, project in records.items():
        if path in idle:
            continue
        context = resolver.context_for(wanted[path], incoming.get(path, []), needs_steps=not project.walked)
        if context is not None:
            second[path] = (project.module, project.is_package, context)
    rechecked = {}
    if second:
        ordered = [path for path in files if path in second]
        for path, (result, _) in zip(ordered, run_files(_Phase(job, second, restored_numpy), ordered, jobs)):
            rechecked[path] = result
    for path, (result, _) in zip(files, first):
        yield rechecked.get(path, result)


# `np.float = np.float_`, `numpy.long = int`, `setattr(np, "bool", bool)`: a project that re-creates a removed name.
# Anchored on a newline, not `^` with MULTILINE, and `setattr` looked for only where the text has it: this runs
# on every file of every project run, warm ones included, and that form is twenty times faster.
_NUMPY_ASSIGNED = re.compile(r"\n[ \t]*(?:np|numpy)\.(\w+)[ \t]*=(?!=)")
_NUMPY_SETATTR = re.compile(r"\bsetattr\([ \t]*(?:np|numpy)[ \t]*,[ \t]*[\"'](\w+)[\"']")


def numpy_names_restored(text: str) -> Set[str]:
    """The NumPy attributes a module's text assigns (read from the text: a superset is harmless, since only
    the removed names are looked up)."""
    names = set(_NUMPY_ASSIGNED.findall("\n" + text))
    if "setattr(" in text:
        names.update(_NUMPY_SETATTR.findall(text))
    return names


# anchored on "\n" (the text is read with one prepended), not on a MULTILINE `^`: `re` tries `^` at every
# position of the text, and this scan reads every file of the project on every run
_IMPORT_LINE = re.compile(r"\n[ \t]*(?:from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)"
                          r"|import[ \t]+([^\n#;]+))")


def _names_wanted(imported: Dict[str, Optional[Set[str]]], module: str) -> Optional[Tuple[str, ...]]:
    if module not in imported:
        return ()
    names = imported[module]
    return None if names is None else tuple(sorted(names))


def imported_somewhere(places: Dict[str, Tuple[str, bool, Optional[dict]]],
                       restored_numpy: Optional[Set[str]] = None) -> Dict[str, Optional[Set[str]]]:
    """module → the names the files' import statements may take from it (None: any; a superset, read from
    their text): phase 1 summarises those only. A name missed here is summarised from the text when asked for.
    `restored_numpy` collects the NumPy names the files assign back (`np.float = np.float_`), from the same read."""
    found: Dict[str, Optional[Set[str]]] = {}

    def everything(module: str) -> None:
        found[module] = None

    def some(module: str, name: str) -> None:
        if module not in found or found[module] is not None:
            found.setdefault(module, set()).add(name)
    for path, (module, package, _) in places.items():
        if not os.path.isfile(path):
            continue  # a FIFO or device named `x.py` would block the read: its own check reports it
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError:
            continue
        if restored_numpy is not None and "np" in text:
            restored_numpy.update(numpy_names_restored(text))
        place = ProjectContext(module=module, is_package=package)
        for level, base, names, plain in _IMPORT_LINE.findall("\n" + text):
            if plain:
                for alias in plain.split(","):
                    dotted = alias.split()[0] if alias.split() else ""
                    parts = dotted.split(".")
                    for i in range(1, len(parts) + 1):
                        everything(".".join(parts[:i]))   # `pkg.utils.f(...)`: any name of any of them
                continue
            absolute = place.absolute(len(level), base or None) if level else base
            if not absolute:
                continue
            for name in names.strip("() \t\n").replace("\n", " ").split(","):
                words = name.split()
                if not words:
                    continue
                if words[0] == "*":
                    everything(absolute)
                elif words[0].isidentifier():
                    some(absolute, words[0])
                    everything(f"{absolute}.{words[0]}")   # `from pkg import utils`: a submodule
    return found


def _modules_on_disk(places: Dict[str, Tuple[str, bool, Optional[dict]]]) -> Dict[str, Tuple[str, bool]]:
    """The project modules beside the files given (`check one.py`, pre-commit's changed files): they answer
    questions too, summarised from their text, though they are not checked."""
    found: Dict[str, Tuple[str, bool]] = {}
    ambiguous: Set[str] = set()
    for root in sorted({root_of(os.path.abspath(path), module, package) for path, (module, package, _) in places.items()}):
        for module, place in project_modules(root).items():
            if found.get(module, place)[0] != place[0]:
                ambiguous.add(module)   # scripts of one name in two folders: which one an import means is unknown
            found[module] = place
    return {module: place for module, place in found.items() if module not in ambiguous}


def _callers_left_alone(records: Dict[str, ProjectFile], places: Dict[str, Tuple[str, bool, Optional[dict]]]
                        ) -> List[str]:
    """The files phase 1 did not walk (the prescreen, or the selection, left them alone) that import from a module
    it did walk: a call they make into it with something specific (`glorot(self.weight)`) is evidence for a
    finding there, so they are walked for their calls out; otherwise what the project finds in a module would
    depend on which rules are selected and on what the callers' own text holds."""
    walked = {places[path][0] for path, project in records.items() if project.walked}
    if not walked:
        return []
    found = []
    for path, project in records.items():
        if project.walked:
            continue
        for name in project.imports:
            dotted = name.lstrip("*")
            if dotted in walked or dotted.rpartition(".")[0] in walked:
                found.append(path)
                break
    return found


def _idle_files(records: Dict[str, ProjectFile], paths_by_module: Dict[str, Tuple[str, bool]],
                resolver: "Resolver") -> Set[str]:
    """The files the prescreen left alone whose recheck nothing they import could start: each name they import
    lies in a module whose summary can show no step and no conversion (`ProjectFile.inert`), and so can every
    module it imports from, which its re-exports and base classes may lead to. Such a file's context would say
    "nothing beyond the prescreen" (`Resolver.context_for`), so its names need no summary. (A call into it
    from another file's step loop still rechecks it.)"""
    inert = {project.module: path for path, project in records.items()
             if project.inert and paths_by_module.get(project.module, ("",))[0] == path}
    ordered = sorted(paths_by_module)

    def modules_named(name: str) -> Set[str]:
        """The modules a name may lead to: its own, and the submodules under it (`from pkg import sub`)."""
        place = resolver.module_of(name)
        found = {place[0]} if place else set()
        start = bisect.bisect_left(ordered, name + ".")
        for module in ordered[start:]:
            if not module.startswith(name + "."):
                break
            found.add(module)
        return found

    leads = {module: set().union(*(modules_named(name.lstrip("*"))
                                   for name in records[path].leads))
             for module, path in inert.items()}
    closed = set(inert)
    changed = True
    while changed:  # the largest set of inert modules that lead only to each other
        changed = False
        for module in list(closed):
            if not leads[module] <= closed | {module}:
                closed.discard(module)
                changed = True
    idle = set()
    for path, project in records.items():
        if not project.walked and all(
                (place := resolver.module_of(name.lstrip("*"))) is None or place[0] in closed
                for name in project.imports):
            idle.add(path)
    return idle


def _incoming_calls(records: Dict[str, ProjectFile], resolver: "Resolver", job) -> Dict[str, List[IncomingCall]]:
    found: Dict[str, List[IncomingCall]] = {}
    seen: Set[tuple] = set()
    for path, project in records.items():
        for call in project.calls_out:
            target = resolver.function_place(call.callee)
            if target is None:
                continue
            target_path, local = target
            key = (target_path, local, call.arguments, call.in_step_loop, call.grad_enabled, call.flags)
            if key in seen or len(found.get(target_path, ())) >= MAX_INCOMING_PER_FILE:
                continue
            seen.add(key)
            found.setdefault(target_path, []).append(IncomingCall(
                local, call.arguments, call.in_step_loop, call.grad_enabled,
                f"{job.shown(path)}:{call.line}", call.text, call.flags))
    return found


__all__ = ["ProjectFile", "check_project", "imported_somewhere", "numpy_names_restored"]
