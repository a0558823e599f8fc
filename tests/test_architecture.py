"""The package's shape: imports point down one order of layers (so no circles), and no source
file outgrows what one reader takes in (files under 300 lines)."""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

from light import without_train_extra

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "maskdepth"
MAX_LINES = 300

# Lowest first: a module may import from its own package or module and from those listed before
# it, never from one listed after it. "__init__" is maskdepth/__init__.py (the public API).
LAYERS = ["errors", "io", "batch", "tensors", "metrics", "models", "runtime", "synth", "data", "training", "inference",
          "evaluation", "bench", "web", "commands", "cli", "__init__", "__main__"]

# The light install's part of the package (pip install maskdepth, no torch): the whole prediction
# path, the API, serve and the CLI's parsers. Each module here imports without the train extra.
TORCH_FREE = ["errors", "io", "batch", "runtime.onnx_runner", "runtime.loader", "models.config",
              "models.lineage", "models.zoo", "inference", "web", "commands", "cli", "__init__"]


def _module(path: Path) -> str:
    """Dotted name of a source file, e.g. maskdepth.data.manifest (maskdepth.io for io/__init__)."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    """The part of the package a module belongs to: maskdepth.data.manifest -> data; maskdepth
    itself and the names it exports (maskdepth.MaskDepth) -> __init__."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "__init__"


def _imports(path: Path) -> list[tuple[ast.stmt, list[str]]]:
    """Every import statement of a file that names maskdepth modules, at any depth (inside
    functions too), with what it imports: relative imports resolved, `from X import y` counted
    as X and X.y (y may be a module)."""
    module, is_package = _module(path), path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join(here[:len(here) - node.level + 1] + ([base] if base else []))
            # `from maskdepth import io` imports maskdepth.io, not the package's __init__
            names = ([base] if base != "maskdepth" else []) + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        names = [name for name in names if name == "maskdepth" or name.startswith("maskdepth.")]
        if names:
            found.append((node, names))
    return found


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_part_of_the_package_has_a_layer():
    parts = {_module(path).split(".")[1] for path in _sources() if "." in _module(path)}
    assert parts <= set(LAYERS), f"add {sorted(parts - set(LAYERS))} to LAYERS"


def test_imports_point_down_the_layers():
    wrong = []
    for path in _sources():
        module = _module(path)
        own = LAYERS.index(_layer(module))
        for node, names in _imports(path):
            for target in sorted({_layer(name) for name in names}):
                if LAYERS.index(target) > own:
                    wrong.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: "
                                 f"`{ast.unparse(node)}`: {module} ({_layer(module)}) imports "
                                 f"from {target}, a higher layer")
    assert not wrong, ("imports against the layer order " + " < ".join(LAYERS) + ":\n"
                       + "\n".join(wrong))


def _module_graph() -> dict[str, set[str]]:
    """module -> the modules it imports (`from X import y`: X.y where that is a module, else X;
    a package's __init__ run on the way to its submodules is not counted)."""
    modules = {_module(path): path for path in _sources()}
    graph = {}
    for module, path in modules.items():
        targets = set()
        for node, names in _imports(path):
            if isinstance(node, ast.ImportFrom):
                base = names[-1].rpartition(".")[0]
                names = [name if name in modules else base for name in names[-len(node.names):]]
            targets |= {name for name in names if name in modules}
        graph[module] = targets - {module}
    return graph


def _circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of imports (a list of modules, the first repeated at the end), or None."""
    state: dict[str, str] = {}  # "open" while on the path, "done" after

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state and (found := visit(target, path + [target])):
                return found
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module, [module])):
            return found
    return None


def test_no_module_imports_itself_in_a_circle():
    circle = _circle(_module_graph())
    assert circle is None, "modules that import each other in a circle: " + " -> ".join(circle)


def test_no_source_file_is_over_300_lines():
    long = [f"{path.relative_to(PACKAGE.parent)}: {count} lines"
            for path in _sources() if (count := len(path.read_text().splitlines())) > MAX_LINES]
    assert not long, f"files over {MAX_LINES} lines (split them by what they own):\n" + "\n".join(long)


def test_the_light_install_part_imports_without_torch(tmp_path):
    import maskdepth

    modules = [m.name for m in pkgutil.walk_packages(maskdepth.__path__, "maskdepth.")
               if m.name != "maskdepth.__main__"]
    light = sorted({m for m in modules if _layer(m) == "__init__" or any(
        m == f"maskdepth.{part}" or m.startswith(f"maskdepth.{part}.") for part in TORCH_FREE)})
    assert {"maskdepth.inference.api", "maskdepth.commands.serve", "maskdepth.io.pairs"} <= set(light)
    result = without_train_extra(f"""
        import importlib
        failed = []
        for name in {light!r}:
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as error:
                failed.append(f"{{name}} needs {{error.name}}")
        print("\\n".join(failed))
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", "modules of the light install that need the train extra:\n" + result.stdout


def test_weights_files_are_opened_by_the_loader_only():
    """One loader (runtime/loader.py): nothing else in the package or its tools calls
    models.weights.load_weights; they resolve a model once and ask the loader."""
    allowed = {PACKAGE / "models" / "weights.py", PACKAGE / "runtime" / "loader.py"}
    scripts = PACKAGE.parents[1] / "scripts"
    callers = [path for path in [*_sources(), *scripts.glob("*.py"), *scripts.glob("*.sh")]
               if path not in allowed and "load_weights" in path.read_text()]
    assert not callers, f"open weights through runtime/loader.py instead: {callers}"
