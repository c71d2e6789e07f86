"""A local Coupa tenant for the demo, the tests and the benchmarks.

``SimulatorServer`` serves a deterministic data set (``data.build_dataset``) over HTTP
with pages shaped like real Coupa pages, and publishes the expected result of a run
as a manifest (``/__sim__/manifest``).
"""

from coupadl.simulator.app import create_app
from coupadl.simulator.auth import Credentials
from coupadl.simulator.data import Dataset, Kind, build_dataset
from coupadl.simulator.faults import KNOB_NAMES, Knobs
from coupadl.simulator.server import SimulatorServer, serve
from coupadl.simulator.sim_state import SimState

__all__ = [
    "KNOB_NAMES",
    "Credentials",
    "Dataset",
    "Kind",
    "Knobs",
    "SimState",
    "SimulatorServer",
    "build_dataset",
    "create_app",
    "serve",
]
