"""Live panels: one QWidget per view of a training run, each shown in its own dock.

Every panel draws from the session's current `RunHistory` at most 20 times a second (the
session's frame clock), creating its plot items once and updating them with setData.
"""
from .activations import ActivationsPanel
from .autoencoder import AutoencoderPanel
from .boundary import BoundaryPanel
from .diagnosis import DiagnosisPanel
from .features import FeatureMapsPanel
from .gradients import GradientsPanel
from .loss import LossPanel
from .predictions import PredictionsPanel
from .weights import WeightsPanel

PANELS = {
    "loss": LossPanel,
    "gradients": GradientsPanel,
    "activations": ActivationsPanel,
    "features": FeatureMapsPanel,
    "boundary": BoundaryPanel,
    "predictions": PredictionsPanel,
    "weights": WeightsPanel,
    "autoencoder": AutoencoderPanel,
    "diagnosis": DiagnosisPanel,
}

__all__ = ["PANELS", *(c.__name__ for c in PANELS.values())]
