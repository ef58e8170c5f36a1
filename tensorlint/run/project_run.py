"""`tensorlint check` across the modules of one project (the default; `--no-project` checks each file alone),
in three phases. The project is the files given plus the modules on disk beside them (`imported.py`), which
answer questions but are not checked.

1. **Check** every file alone (the prescreen applies, results cached as usual). Each walked file records
   what its analysis asked about other modules of the project and could not answer (*queries*: an imported
   function it called or a base class), and the calls it made into them with something specific
   (*calls out*). A file the prescreen left alone records the project names it imports (from its `ast`).
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
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from tensorlint.analysis.crossmodule import (ClassSummary, FunctionSummary, IncomingCall, ModuleSummary, OutgoingCall,
                                   ProjectContext, is_project_name)
from tensorlint.run.cache import Cache, cache_key
from tensorlint.core.settings import Settings

MAX_RESOLVE_HOPS = 4          # re-exports followed: `pkg.to_np` → `pkg.utils.to_np`
MAX_INCOMING_PER_FILE = 32    # calls from other files walked in one file
MAX_SUMMARY_ROUNDS = 4        # rounds of summarising the modules that re-exports and base classes name
SUMMARY_CONTEXT = "summary-6"  # bumped when the encoded summary changes shape


# -- where a file sits in its project --------------------------------------------------------------
def module_places(paths: Iterable[str]) -> Dict[str, Tuple[str, bool]]:
    """path → (dotted module name, is a package `__init__`), for the Python files among `paths`."""
    packages: Dict[str, Optional[str]] = {}   # directory → its dotted package name, None outside packages

    def package_of(directory: str) -> Optional[str]:
        if directory not in packages:
            if os.path.isfile(os.path.join(directory, "__init__.py")):
                parent = os.path.dirname(directory)
                outer = package_of(parent) if parent != directory else None
                name = os.path.basename(directory)
                packages[directory] = f"{outer}.{name}" if outer else name
            else:
                packages[directory] = None
        return packages[directory]

    places = {}
    for path in paths:
        if not path.endswith(".py"):
            continue
        absolute = os.path.abspath(path)
        package = package_of(os.path.dirname(absolute))
        stem = os.path.basename(absolute)[:-3]
        if stem == "__init__":
            if package:
                places[path] = (package, True)
        elif stem.isidentifier():
            places[path] = (f"{package}.{stem}" if package else stem, False)
    return places


def project_imports(tree: ast.Module, module: str, is_package: bool) -> List[str]:
    """The project names a file imports (qualified), and `*module` for its star imports."""
    place = ProjectContext(module=module, is_package=is_package)
    found: Set[str] = set()
    for node in import_statements(tree, ast.ImportFrom):
        base = place.absolute(node.level, node.module) if node.level else node.module
        if not base or not is_project_name(base):
            continue
        for alias in node.names:
            found.add("*" + base if alias.name == "*" else f"{base}.{alias.name}")
    return sorted(found)


_BLOCKS = (ast.stmt, ast.excepthandler, ast.match_case)


def import_statements(tree: ast.Module, kind) -> Iterator:
    """The `kind` import statements of a tree, wherever they sit. An import is a statement, and statements
    only hold statements through blocks (bodies, handlers, match cases), so expressions are not entered:
    `ast.walk` spent most of its time in them."""
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, kind):
            yield node
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        else:
            pending.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, _BLOCKS))


def imported_names(tree: ast.Module, module: str, is_package: bool) -> List[str]:
    """Every dotted name the file's import statements name, of the project or not: `a.b` for `import a.b`,
    `pkg.m.x` for `from .m import x` in pkg, `pkg.m` for `from .m import *`."""
    place = ProjectContext(module=module, is_package=is_package)
    found: Set[str] = set()
    for node in import_statements(tree, (ast.Import, ast.ImportFrom)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        base = place.absolute(node.level, node.module) if node.level else node.module
        if base:
            found.update(base if alias.name == "*" else f"{base}.{alias.name}" for alias in node.names)
    return sorted(found)


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

    def cache_context(self) -> str:
        return json.dumps([self.module, self.is_package, self.context, *([list(self.restored_numpy)] if self.restored_numpy
                                                                           else [])],
                          sort_keys=True, separators=(",", ":"))

    def check(self, text: str, select: Sequence[str], settings: Settings, tree: Optional[ast.Module]):
        from tensorlint.api import check_source  # only on a cache miss: a warm run loads neither libcst nor the rules
        project = decode_context(self.module, self.is_package, self.context)
        project.restored_numpy_names = frozenset(self.restored_numpy)
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
            self.summary = _summarize_analysed(*project.analysed, self.module, self.is_package, self.imported)
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


def decode_context(module: str, is_package: bool, context: Optional[dict]) -> ProjectContext:
    project = ProjectContext(module=module, is_package=is_package)
    if context:
        project.functions = {k: FunctionSummary.decode(v) for k, v in context["f"].items()}
        project.classes = {k: ClassSummary.decode(v) for k, v in context["c"].items()}
        project.stars = {k: dict(v) for k, v in context["s"].items()}
        project.incoming = [IncomingCall.decode(call) for call in context["i"]]
    return project


# -- jobs for the worker pool --------------------------------------------------------------------
@dataclass(frozen=True)
class _Phase:
    """`check` with a project place per file (phases 1 and 3)."""
    job: object
    places: Dict[str, Tuple[str, bool, Optional[dict]]]
    restored_numpy: Tuple[str, ...] = ()

    def run(self, path: str):
        from tensorlint.adapters.cli.main import inspect_file
        place = self.places.get(path)
        if place is None:
            return inspect_file(self.job, path).result, None
        project = ProjectFile(*place[:3], imported=place[3] if len(place) > 3 else None,
                              restored_numpy=self.restored_numpy)
        result = inspect_file(self.job, path, project).result
        return result, project


@dataclass(frozen=True)
class _Summaries:
    paths: Dict[str, Tuple[str, bool]]       # module → (path, is_package)
    wanted: Dict[str, Optional[Tuple[str, ...]]]
    cache_directory: Optional[str]

    def run(self, module: str):
        path, is_package = self.paths[module]
        return module, summarize_file(path, module, is_package, self.cache_directory, self.wanted.get(module))


def _summarize_analysed(parsed, semantic, module: str, is_package: bool,
                        wanted: Optional[Tuple[str, ...]] = None) -> Optional[dict]:
    from tensorlint.core.deep import with_deep_recursion
    from tensorlint.analysis.summarize import summarize_module
    try:
        return with_deep_recursion(summarize_module, parsed, ProjectContext(module=module, is_package=is_package),
                                   wanted, semantic).encode()
    except Exception:  # a module that cannot be summarised tells its importers nothing
        return None


def summarize_file(path: str, module: str, is_package: bool, cache_directory: Optional[str],
                   wanted: Optional[Tuple[str, ...]] = None) -> Optional[dict]:
    """The encoded summary of one module (of the `wanted` names, None: all), or None when it cannot be read
    or parsed (its check says why)."""
    from tensorlint.core.deep import parse_module, with_deep_recursion
    from tensorlint.core.safe_io import SourceError, read_source_file
    try:
        text = read_source_file(path).text
    except (SourceError, OSError):
        return None
    cache = Cache(cache_directory) if cache_directory is not None else None
    key = cache_key(text, Settings(), frozenset(), json.dumps([SUMMARY_CONTEXT, module, is_package, wanted]))
    if cache is not None:
        cached = cache.load_entry(key)
        if cached is not None and isinstance(cached[1], dict):
            return cached[1]
    try:
        from tensorlint.analysis.summarize import summarize_module
        tree = with_deep_recursion(parse_module, text)
        summary = with_deep_recursion(summarize_module, tree, ProjectContext(module=module, is_package=is_package),
                                      wanted)
    except Exception:  # a module that cannot be summarised tells its importers nothing
        return None
    encoded = summary.encode()
    if cache is not None:
        cache.store(key, [], encoded)
    return encoded


# -- the run -------------------------------------------------------------------------------------
def check_project(job, files: Sequence[str], run_files, jobs: int) -> Iterator:
    """The results of `job` on `files`, in order, with what the project's modules tell each other; replayed
    whole when nothing the last such run read has changed (`run_replay`)."""
    from tensorlint.run.inputs import is_notebook
    cache_directory = getattr(job, "cache_directory", None)
    if cache_directory is not None:
        from tensorlint.run import replay as run_replay
        from tensorlint.adapters.cli.main import FileResult
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
    first = list(run_files(_Phase(job, {path: (*place, _names_wanted(imported, place[0]))
                                        for path, place in places.items()}, restored_numpy), files, jobs))
    records = {path: project for path, (_, project) in zip(files, first) if project is not None}
    paths_by_module: Dict[str, Tuple[str, bool]] = {}
    claimed: Dict[str, int] = {}
    for path, (module, package, _) in places.items():
        claimed[module] = claimed.get(module, 0) + 1
        paths_by_module[module] = (path, package)
    # the files given answer under the paths they were given by; the rest of the project from disk
    paths_by_module = {module: place for module, place in {**on_disk, **paths_by_module}.items()
                       if claimed.get(module, 1) == 1}

    resolver = _Resolver(paths_by_module, getattr(job, "cache_directory", None), run_files, jobs)
    resolver.adopt({project.module: (project.summary, project.imported) for project in records.values()
                    if project.summary is not None})
    wanted = {path: (project.queries if project.walked else project.imports) for path, project in records.items()}
    idle = _idle_files(records, paths_by_module, resolver)
    calls = [call.callee for project in records.values() for call in project.calls_out]
    needed = [name for path, names in wanted.items() if path not in idle for name in names] + calls
    needed_modules = {resolver._wants(name)[0] for name in needed}
    # an idle file's names are summarised only where another file needs the module (its summary is then made
    # for the same names as if the idle file were not idle)
    resolver.prepare(needed + [name for path in idle for name in wanted[path]
                               if resolver._wants(name)[0] in needed_modules])
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
    from tensorlint.run.imported import project_modules, root_of
    found: Dict[str, Tuple[str, bool]] = {}
    ambiguous: Set[str] = set()
    for root in sorted({root_of(os.path.abspath(path), module, package) for path, (module, package, _) in places.items()}):
        for module, place in project_modules(root).items():
            if found.get(module, place)[0] != place[0]:
                ambiguous.add(module)   # scripts of one name in two folders: which one an import means is unknown
            found[module] = place
    return {module: place for module, place in found.items() if module not in ambiguous}


def _idle_files(records: Dict[str, ProjectFile], paths_by_module: Dict[str, Tuple[str, bool]],
                resolver: "_Resolver") -> Set[str]:
    """The files the prescreen left alone whose recheck nothing they import could start: each name they import
    lies in a module whose summary can show no step and no conversion (`ProjectFile.inert`), and so can every
    module it imports from, which its re-exports and base classes may lead to. Such a file's context would say
    "nothing beyond the prescreen" (`_Resolver.context_for`), so its names need no summary. (A call into it
    from another file's step loop still rechecks it.)"""
    inert = {project.module: path for path, project in records.items()
             if project.inert and paths_by_module.get(project.module, ("",))[0] == path}
    ordered = sorted(paths_by_module)

    def modules_named(name: str) -> Set[str]:
        """The modules a name may lead to: its own, and the submodules under it (`from pkg import sub`)."""
        place = resolver._module_of(name)
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
                (place := resolver._module_of(name.lstrip("*"))) is None or place[0] in closed
                for name in project.imports):
            idle.add(path)
    return idle


def _incoming_calls(records: Dict[str, ProjectFile], resolver: "_Resolver", job) -> Dict[str, List[IncomingCall]]:
    found: Dict[str, List[IncomingCall]] = {}
    seen: Set[tuple] = set()
    for path, project in records.items():
        for call in project.calls_out:
            target = resolver.function_place(call.callee)
            if target is None:
                continue
            target_path, local = target
            key = (target_path, local, call.arguments, call.in_step_loop, call.grad_enabled)
            if key in seen or len(found.get(target_path, ())) >= MAX_INCOMING_PER_FILE:
                continue
            seen.add(key)
            found.setdefault(target_path, []).append(IncomingCall(
                local, call.arguments, call.in_step_loop, call.grad_enabled,
                f"{job.shown(path)}:{call.line}", call.text))
    return found


class _Resolver:
    """Qualified names → the summaries of the project's modules that define them."""

    def __init__(self, paths_by_module: Dict[str, Tuple[str, bool]], cache_directory: Optional[str],
                 run_files, jobs: int) -> None:
        self.paths_by_module = paths_by_module
        self.cache_directory = cache_directory
        self.run_files = run_files
        self.jobs = jobs
        self.summaries: Dict[str, Optional[ModuleSummary]] = {}
        self._wanted: Dict[str, Optional[Set[str]]] = {}   # what each module was summarised for (None: all)

    def adopt(self, summaries: Dict[str, Tuple[dict, Optional[Tuple[str, ...]]]]) -> None:
        """Summaries made in phase 1 from each parsed file's own tree (of the names the run's imports may name,
        None: all): no second parse. A name outside them is summarised from the text when asked for."""
        for module, (encoded, wanted) in summaries.items():
            if module in self.paths_by_module:
                self.summaries[module] = ModuleSummary.decode(encoded)
                self._wanted[module] = None if wanted is None else set(wanted)

    def prepare(self, names: Iterable[str]) -> None:
        """Summarise the modules `names` need, and those their re-exports and base classes name."""
        pending = set(names)
        for _ in range(MAX_SUMMARY_ROUNDS):
            wanted: Dict[str, Optional[Set[str]]] = {}
            for name in pending:
                module, heads = self._wants(name)
                if not module:
                    continue
                if heads is None:
                    wanted[module] = None            # everything it defines
                elif wanted.get(module, set()) is not None:
                    wanted.setdefault(module, set()).update(heads)
            todo = {m: w for m, w in wanted.items() if not self._covers(m, w)}
            if not todo:
                return
            for module, heads in todo.items():
                if heads is not None and self._wanted.get(module):
                    heads |= self._wanted[module]      # summarised before for other names: once more, for all
                self._wanted[module] = heads
            job = _Summaries(self.paths_by_module,
                             {m: None if w is None else tuple(sorted(w)) for m, w in todo.items()},
                             self.cache_directory)
            for module, encoded in self.run_files(job, sorted(todo), self.jobs):
                self.summaries[module] = ModuleSummary.decode(encoded) if encoded is not None else None
            following: Set[str] = set()
            for name in pending:
                found = self._resolve(name.lstrip("*"), hops=0, follow=following)
                if isinstance(found, ClassSummary):
                    following.update(found.bases)
                elif isinstance(found, ModuleSummary) and name.startswith("*"):
                    following.update(q for q in found.exports(name[1:]).values() if self._module_of(q))
            pending = {name for name in following if not self._covers(*self._wants(name))}

    def _wants(self, name: str) -> Tuple[str, Optional[Set[str]]]:
        """(module, the names wanted of it: None for all) for one name `prepare` was given."""
        place = self._module_of(name.lstrip("*")) or ("", "")
        head = place[1].partition(".")[0]
        return place[0], None if name.startswith("*") or not head else {head}

    def _covers(self, module: str, heads: Optional[Set[str]]) -> bool:
        if module not in self.summaries:
            return False
        done = self._wanted.get(module, set())
        return done is None or (heads is not None and heads <= done)

    def _module_of(self, qualified: str) -> Optional[Tuple[str, str]]:
        """(module, the rest of the name) for the longest module of the project that `qualified` starts with."""
        if qualified in self.paths_by_module:
            return qualified, ""
        parts = qualified.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:cut])
            if module in self.paths_by_module:
                return module, ".".join(parts[cut:])
        return None

    def _resolve(self, qualified: str, hops: int, follow: Optional[Set[str]] = None):
        """A FunctionSummary, a ClassSummary, a ModuleSummary (the name is a module), or None."""
        place = self._module_of(qualified)
        if place is None:
            return None
        module, rest = place
        summary = self.summaries.get(module)
        if summary is None:
            if follow is not None:
                follow.add(qualified)
            return None
        if not rest:
            return summary
        head, _, tail = rest.partition(".")
        if not tail and head in summary.functions:
            return summary.functions[head]
        if not tail and head in summary.classes:
            return summary.classes[head]
        if head in summary.names and hops < MAX_RESOLVE_HOPS:
            target = summary.names[head] + (f".{tail}" if tail else "")
            if target != qualified:
                return self._resolve(target, hops + 1, follow)
        if follow is not None and not self._covers(module, {head}):
            follow.add(qualified)   # summarised for other names (a re-export leads to this one): once more
        return None

    def function_place(self, qualified: str) -> Optional[Tuple[str, str]]:
        """(path of the file defining the function, its local name) for a project function."""
        for _ in range(MAX_RESOLVE_HOPS):
            place = self._module_of(qualified)
            if place is None:
                return None
            module, rest = place
            summary = self.summaries.get(module)
            if summary is None or not rest or "." in rest:
                return None
            if rest in summary.functions:
                return self.paths_by_module[module][0], rest
            if rest not in summary.names:
                return None
            qualified = summary.names[rest]
        return None

    def context_for(self, names: Iterable[str], incoming: List[IncomingCall], needs_steps: bool = False
                    ) -> Optional[dict]:
        """The encoded context of a file's recheck, or None when nothing it asked about says anything.
        `needs_steps`: the file had no candidate site of its own (the prescreen left it alone), so only a
        step from elsewhere can give it a finding."""
        project = ProjectContext()
        informative = False
        pending, seen = list(names), set(names)
        while pending:
            name = pending.pop(0)
            if name.startswith("*"):
                found = self._resolve(name[1:], 0)
                if isinstance(found, ModuleSummary):
                    exported = project.stars[name[1:]] = found.exports(name[1:])
                    informative = True
                    # `build()` from the star import: the first check could not ask for its summary
                    pending.extend(q for q in exported.values() if q not in seen)
                    seen.update(exported.values())
                continue
            found = self._resolve(name, 0)
            if isinstance(found, FunctionSummary):
                project.functions[name] = found
                informative = informative or found.informative
            elif isinstance(found, ClassSummary):
                self._add_class(project, name, found, depth=0)
                informative = informative or found.informative
        project.incoming = list(incoming)
        if not informative and not incoming:
            return None
        if needs_steps and not project.families_beyond_prescreen():
            return None
        return project.encode_context()

    def _add_class(self, project: ProjectContext, name: str, summary: ClassSummary, depth: int) -> None:
        project.classes[name] = summary
        for base in summary.bases if depth < 3 else ():
            found = self._resolve(base, 0)
            if isinstance(found, ClassSummary) and base not in project.classes:
                self._add_class(project, base, found, depth + 1)


__all__ = ["ProjectFile", "check_project", "import_statements", "module_places", "project_imports", "summarize_file"]
