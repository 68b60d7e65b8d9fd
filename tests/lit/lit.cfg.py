# -*- Python -*-
import os
import lit.formats

config.name = "Tessera"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.tessera_obj_root, "tests", "lit")
config.excludes = ["lit.cfg.py", "lit.site.cfg.py.in"]

# tessera-opt and tessera-kernels from this build; FileCheck and not from LLVM 22.
config.environment["PATH"] = os.pathsep.join(
    [config.tessera_tools_dir, config.tessera_kernels_dir, config.llvm_tools_dir, config.environment.get("PATH", "")])
