"""The summaries of a project's modules (`analysis/summarize.py`), cached per module text, and the resolver that
answers a qualified name with the summary of the module defining it, following re-exports and base classes."""
from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Set, Tuple

from tensorlint.analysis.crossmodule import ClassSummary, FunctionSummary, IncomingCall, ModuleSummary, ProjectContext
from tensorlint.core.safe_io import SourceError, read_source_file
from tensorlint.core.settings import Settings
from tensorlint.run.cache import Cache, cache_key

MAX_RESOLVE_HOPS = 4          # re-exports followed: `pkg.to_np` → `pkg.utils.to_np`
MAX_SUMMARY_ROUNDS = 4        # rounds of summarising the modules that re-exports and base classes name
SUMMARY_CONTEXT = "summary-6"  # bumped when the encoded summary changes shape


def decode_context(module: str, is_package: bool, context: Optional[dict]) -> ProjectContext:
    project = ProjectContext(module=module, is_package=is_package)
    if context:
        project.functions = {k: FunctionSummary.decode(v) for k, v in context["f"].items()}
        project.classes = {k: ClassSummary.decode(v) for k, v in context["c"].items()}
        project.stars = {k: dict(v) for k, v in context["s"].items()}
        project.incoming = [IncomingCall.decode(call) for call in context["i"]]
    return project



@dataclass(frozen=True)
class _Summaries:
    paths: Dict[str, Tuple[str, bool]]       # module → (path, is_package)
    wanted: Dict[str, Optional[Tuple[str, ...]]]
    cache_directory: Optional[str]

    def run(self, module: str):
        path, is_package = self.paths[module]
        return module, summarize_file(path, module, is_package, self.cache_directory, self.wanted.get(module))


def summarize_analysed(parsed, semantic, module: str, is_package: bool,
                        wanted: Optional[Tuple[str, ...]] = None) -> Optional[dict]:
    from tensorlint.analysis.summarize import summarize_module  # libcst: not for a cached run
    from tensorlint.core.deep import with_deep_recursion
    try:
        return with_deep_recursion(summarize_module, parsed, ProjectContext(module=module, is_package=is_package),
                                   wanted, semantic).encode()
    except Exception:  # a module that cannot be summarised tells its importers nothing
        return None


# Summaries this process made or loaded, by cache key (the module's text and what was asked of it), so
# that files checked one at a time in one process (`fix` over a tree, flake8's workers) summarise a module
# they all import once, not once per importer; the key holds the text, so an edited module is a new entry.
MEMO_ENTRIES = 4096
_memo: "OrderedDict[str, Optional[dict]]" = OrderedDict()


def summarize_file(path: str, module: str, is_package: bool, cache_directory: Optional[str],
                   wanted: Optional[Tuple[str, ...]] = None) -> Optional[dict]:
    """The encoded summary of one module (of the `wanted` names, None: all), or None when it cannot be read
    or parsed (its check says why)."""
    try:
        text = read_source_file(path).text
    except (SourceError, OSError):
        return None
    key = cache_key(text, Settings(), frozenset(), json.dumps([SUMMARY_CONTEXT, module, is_package, wanted]))
    if key in _memo:
        _memo.move_to_end(key)
        return _memo[key]
    encoded = _summarize_text(text, module, is_package, cache_directory, wanted, key)
    _memo[key] = encoded
    if len(_memo) > MEMO_ENTRIES:
        _memo.popitem(last=False)
    return encoded


def _summarize_text(text: str, module: str, is_package: bool, cache_directory: Optional[str],
                    wanted: Optional[Tuple[str, ...]], key: str) -> Optional[dict]:
    from tensorlint.core.deep import parse_module, with_deep_recursion  # libcst: not for a cached summary
    cache = Cache(cache_directory) if cache_directory is not None else None
    if cache is not None:
        cached = cache.load_entry(key)
        if cached is not None and isinstance(cached[1], dict):
            return cached[1]
    try:
        from tensorlint.analysis.summarize import summarize_module  # libcst: not for a cached summary
        tree = with_deep_recursion(parse_module, text)
        summary = with_deep_recursion(summarize_module, tree, ProjectContext(module=module, is_package=is_package),
                                      wanted)
    except Exception:  # a module that cannot be summarised tells its importers nothing
        return None
    encoded = summary.encode()
    if cache is not None:
        cache.store(key, [], encoded)
    return encoded



class Resolver:
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
                module, heads = self.wants(name)
                if not module:
                    continue
                if heads is None:
                    wanted[module] = None            # everything it defines
                elif wanted.get(module, set()) is not None:
                    wanted.setdefault(module, set()).update(heads)
            todo = {m: w for m, w in wanted.items() if not self._covers(m, w)}
            for module, heads in todo.items():
                if heads is not None and self._wanted.get(module):
                    heads |= self._wanted[module]      # summarised before for other names: once more, for all
                self._wanted[module] = heads
            if todo:
                job = _Summaries(self.paths_by_module,
                                 {m: None if w is None else tuple(sorted(w)) for m, w in todo.items()},
                                 self.cache_directory)
                for module, encoded in self.run_files(job, sorted(todo), self.jobs):
                    self.summaries[module] = ModuleSummary.decode(encoded) if encoded is not None else None
            # also when phase 1's summaries covered every name: their base classes may still be missing
            following: Set[str] = set()
            for name in pending:
                found = self._resolve(name.lstrip("*"), hops=0, follow=following)
                if isinstance(found, ClassSummary):
                    following.update(found.bases)
                elif isinstance(found, ModuleSummary) and name.startswith("*"):
                    following.update(q for q in found.exports(name[1:]).values() if self.module_of(q))
            pending = {name for name in following if not self._covers(*self.wants(name))}
            if not pending:
                return

    def wants(self, name: str) -> Tuple[str, Optional[Set[str]]]:
        """(module, the names wanted of it: None for all) for one name `prepare` was given."""
        place = self.module_of(name.lstrip("*")) or ("", "")
        head = place[1].partition(".")[0]
        return place[0], None if name.startswith("*") or not head else {head}

    def _covers(self, module: str, heads: Optional[Set[str]]) -> bool:
        if module not in self.summaries:
            return False
        done = self._wanted.get(module, set())
        return done is None or (heads is not None and heads <= done)

    def module_of(self, qualified: str) -> Optional[Tuple[str, str]]:
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
        place = self.module_of(qualified)
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
            place = self.module_of(qualified)
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

