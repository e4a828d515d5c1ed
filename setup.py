"""numser: Kim et al. 2017 (3D CNNs for speech emotion recognition) from scratch in NumPy and Numba."""
from setuptools import find_packages, setup

setup(
    name="numser",
    version="0.1.0",
    description="Speech-emotion recognition with 3D CNNs, written from scratch in NumPy and Numba",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["numser", "numser.*"]),
    python_requires=">=3.10",
    # Exactly the runtime dependencies the project allows itself (README.md).
    install_requires=["numpy", "scipy", "numba", "soundfile", "matplotlib"],
    # The commands beside their `python -m numser.<command>` forms.
    entry_points={"console_scripts": [
        "numser-cv=numser.cv:main",
        "numser-train=numser.train_command:main",
        "numser-predict=numser.predict:main",
        "numser-report=numser.report:main",
    ]},
    extras_require={
        # dask[distributed]: tests/test_distributed.py starts a scheduler and workers;
        # hypothesis: the property-based fuzz battery of every file reader (tests/test_fuzz.py);
        # pytest-xdist: the suite runs one test file per core (pytest.ini).
        "test": ["pytest", "pytest-xdist", "dask[distributed]", "hypothesis"],
        # `python -m numser.cv --scheduler ...`: tasks on a Dask cluster (docs/distributed.md).
        "dask": ["dask[distributed]"],
        # Optional independent reference for tests and benchmarks; a CPU build on these machines.
        "reference": ["torch==2.13.0", "threadpoolctl"],
    },
)
