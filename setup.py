"""`pip install .`: the Python module (import darklens) built by the
project's own CMake, for a virtual environment or a user's site-packages
(docs/python.md). Debian 12 has no scikit-build-core, so this is a plain
setuptools build that calls CMake:

    python3 -m venv --system-site-packages venv   # numpy, pandas from Debian
    venv/bin/pip install --no-build-isolation .

The build goes into build/pip (configured on first use, then incremental);
DARKLENS_BUILD_DIR names another, e.g. an existing build/release, so that
nothing is compiled twice. Needs what scripts/setup.sh installs."""
import os
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("DARKLENS_BUILD_DIR") or os.path.join(ROOT, "build", "pip")
# setuptools' own files go under the build folder too, not into the sources.
SETUPTOOLS = os.path.join(BUILD, "setuptools")
os.makedirs(SETUPTOOLS, exist_ok=True)


def version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        return re.search(r"project\(darklens VERSION ([0-9.]+)", f.read()).group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = BUILD
        if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
            subprocess.check_call(["cmake", "-S", ROOT, "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                                   "-DDARKLENS_PYTHON=ON", "-DDARKLENS_BUILD_TESTS=OFF",
                                   "-DDARKLENS_BUILD_BENCH=OFF", "-DDARKLENS_BUILD_EXAMPLES=OFF",
                                   "-DPython3_EXECUTABLE=" + sys.executable])
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 1)
        subprocess.check_call(["cmake", "--build", build, "--target", "darklens_python", "-j", jobs])
        built = os.path.join(build, "python", "darklens")
        so = [n for n in os.listdir(built) if n.startswith("_darklens") and n.endswith(".so")]
        if len(so) != 1:
            raise RuntimeError(f"{built}: expected one compiled _darklens module, found {so}")
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(built, so[0]), target)
        # The shipped data beside the module (src/core/data_files.cpp looks there).
        data = os.path.join(os.path.dirname(target), "data")
        shutil.copytree(os.path.join(built, "data"), data, dirs_exist_ok=True)


setup(
    name="darklens",
    version=version(),
    description="Coordinated sources in darknet traffic: features, clusters, profiles, a pattern database",
    license="see the repository",
    python_requires=">=3.9",
    install_requires=["numpy"],
    extras_require={"frames": ["pandas"]},
    package_dir={"": "python"},
    packages=["darklens"],
    ext_modules=[Extension("darklens._darklens", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
    options={"build": {"build_base": SETUPTOOLS}, "egg_info": {"egg_base": SETUPTOOLS}},
)
