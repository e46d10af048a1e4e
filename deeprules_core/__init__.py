"""deeprules: the engine behind the app. Never imports streamlit.

Ten quick tips for deep learning in biology (Lee et al., PLoS Comput Biol 2022) as a
guided, auditable workflow: studies, data intake with provenance, checks, confounds,
replicate-aware splits, fair baselines, deep models, interpretation and the report.
"""

import os

#: OpenMP threads (gradient boosting, torch) that wait for work by sleeping, not spinning.
#: On a shared server, spinning threads fight every other process for the cores: one
#: boosting fit (1,600 x 2,000, 100 rounds) took 166 s on 2 busy cores with the default
#: policy and 18 s with this one (benchmarks/bench_baselines.py). Read by the OpenMP
#: runtime when it loads, so it is set before anything imports scikit-learn or torch; a
#: value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .errors import DeepRulesError  # noqa: E402
from .findings import Finding  # noqa: E402
from .study import Design, Roles, Study  # noqa: E402

__version__ = "0.1.0"

__all__ = ["DeepRulesError", "Finding", "Design", "Roles", "Study", "__version__"]
