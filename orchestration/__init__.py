"""The MCS Dagster code location (definitions.py) and its partitions, resources, jobs, schedules, sensors.

The APIs used here that Dagster marks beta/preview (partitioned asset checks, the month × site →
month partition mapping) are deliberate; their warnings are silenced once, here.
"""

import warnings

from dagster import BetaWarning, PreviewWarning

warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)
