"""deeprules: the engine behind the app. Never imports streamlit.

Ten quick tips for deep learning in biology (Lee et al., PLoS Comput Biol 2022) as a
guided, auditable workflow: studies, data intake with provenance, checks, confounds,
replicate-aware splits, fair baselines, deep models, interpretation and the report.
"""

from .errors import DeepRulesError
from .findings import Finding
from .study import Design, Roles, Study

__version__ = "0.1.0"

__all__ = ["DeepRulesError", "Finding", "Design", "Roles", "Study", "__version__"]
