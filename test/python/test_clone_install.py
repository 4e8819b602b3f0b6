"""The install most ComfyUI users try first: a clone of this repository into ComfyUI/custom_nodes/.

Run by test/comfyui-install.parity.test.ts. The clone is the working tree's tracked and unignored files (what
`git clone` of this commit holds) copied into a fresh custom_nodes/, then loaded the way ComfyUI 0.8.0's
load_custom_node does: the folder's __init__.py as a module named after the folder's path.
"""
import importlib.machinery
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import types
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "packages" / "comfyui" / "comfyui_nodes"


def clone_into(custom_nodes: Path, name: str) -> Path:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    target = custom_nodes / name
    for rel in filter(None, files.decode().split("\0")):
        if (ROOT / rel).is_file():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, target / rel)
    return target


def load_like_comfyui(module_path: Path):
    """nodes.load_custom_node of ComfyUI 0.8.0, for a folder."""
    sys_module_name = str(module_path).replace(".", "_x_")
    spec = importlib.util.spec_from_file_location(sys_module_name, os.path.join(module_path, "__init__.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[sys_module_name] = module
    spec.loader.exec_module(module)
    return module


class CloneInstallTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.comfyui = Path(self.tmp.name) / "ComfyUI"
        (self.comfyui / "custom_nodes").mkdir(parents=True)
        # Inside ComfyUI, its root modules are importable: the pack then checks ComfyUI's version.
        self.saved = {k: sys.modules.get(k) for k in ("folder_paths", "comfyui_version")}
        folder_paths = types.ModuleType("folder_paths")
        folder_paths.__spec__ = importlib.machinery.ModuleSpec("folder_paths", None)
        sys.modules["folder_paths"] = folder_paths
        version = types.ModuleType("comfyui_version")
        version.__version__ = "0.8.0"
        sys.modules["comfyui_version"] = version

    def tearDown(self):
        for k, v in self.saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
        self.tmp.cleanup()

    def test_a_clone_into_custom_nodes_loads_and_registers_the_nodes(self):
        clone = clone_into(self.comfyui / "custom_nodes", "clip-agiqa-sdk")
        module = load_like_comfyui(clone)
        self.assertEqual(set(module.NODE_CLASS_MAPPINGS), {"CLIPAGIQAScore", "CLIPAGIQAQualityGate", "CLIPAGIQABestOfN"})
        self.assertEqual(set(module.NODE_DISPLAY_NAME_MAPPINGS), set(module.NODE_CLASS_MAPPINGS))
        for cls in module.NODE_CLASS_MAPPINGS.values():
            self.assertIn("images", cls.INPUT_TYPES()["required"])
            self.assertTrue(str(Path(sys.modules[cls.__module__].__file__)).startswith(str(clone)), "the clone's own code is loaded")

    def test_a_clone_under_a_dotted_folder_name_loads_too(self):
        # ComfyUI-Manager names the folder after the repository; a user may clone into any name.
        module = load_like_comfyui(clone_into(self.comfyui / "custom_nodes", "clip-agiqa-sdk.git"))
        self.assertEqual(len(module.NODE_CLASS_MAPPINGS), 3)

    def test_the_clone_refuses_an_older_comfyui_with_the_pack_message(self):
        sys.modules["comfyui_version"].__version__ = "0.3.40"
        with self.assertRaisesRegex(RuntimeError, r"needs ComfyUI 0\.3\.44 or later"):
            load_like_comfyui(clone_into(self.comfyui / "custom_nodes", "clip-agiqa-sdk"))


class RegistryMetadataTest(unittest.TestCase):
    """pyproject.toml at the repository root, as `comfy node publish` and ComfyUI read it (registry specification)."""

    def setUp(self):
        self.meta = tomllib.loads((ROOT / "pyproject.toml").read_text())

    def test_project_section(self):
        project = self.meta["project"]
        name = project["name"]
        self.assertLess(len(name), 100)
        self.assertRegex(name, r"^[A-Za-z](?:[A-Za-z0-9]|[-_.](?=[A-Za-z0-9]))*$", "alphanumerics, - _ . (never two in a row), starting with a letter")
        self.assertNotIn("comfyui", name.lower(), "the registry advises against ComfyUI in the name")
        self.assertRegex(project["version"], r"^\d+\.\d+\.\d+$")
        import json
        self.assertEqual(project["version"], json.loads((ROOT / "packages/comfyui/package.json").read_text())["version"])
        self.assertTrue((ROOT / project["license"]["file"]).is_file())
        self.assertTrue(project["urls"]["Repository"].startswith("https://github.com/"))
        self.assertTrue(project["description"])

    def test_tool_comfy_section(self):
        comfy = self.meta["tool"]["comfy"]
        self.assertRegex(comfy["PublisherId"], r"^[a-z0-9][a-z0-9-]*$")
        self.assertTrue(comfy["DisplayName"])
        icon = comfy["Icon"]
        m = re.match(r"^https://raw\.githubusercontent\.com/clip-agiqa/clip-agiqa-sdk/main/(.+\.(svg|png|jpg|gif))$", icon)
        self.assertIsNotNone(m, f"Icon must be an image URL in this repository: {icon}")
        svg = (ROOT / m.group(1)).read_text()
        width, height = (int(re.search(rf'{k}="(\d+)"', svg).group(1)) for k in ("width", "height"))
        self.assertLessEqual((width, height), (800, 400), "at most 800x400")
        self.assertLessEqual(height, 400)
        sys.path.insert(0, str(PACK.parent))
        import comfyui_nodes
        self.assertEqual(comfy["requires-comfyui"], f">={comfyui_nodes.MIN_COMFYUI}", "one minimum ComfyUI version")

    def test_the_pack_carries_the_licence(self):
        self.assertEqual((PACK / "LICENSE").read_text(), (ROOT / "LICENSE").read_text())


if __name__ == "__main__":
    unittest.main()
