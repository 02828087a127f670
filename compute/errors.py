"""The exceptions every part of Netwright raises for bad input.

Each message names the place it concerns (node, port, param, file line) so that the
editor, the CLI and scripts can show it as it is, without a traceback.
"""


class NetwrightError(Exception):
    """Base of every error Netwright reports to a person."""


class ProjectError(NetwrightError):
    """A malformed project file, weights file or parameter value."""


class GraphError(NetwrightError):
    """A graph that cannot be built or run: cycles, missing links, bad shapes."""


class ShapeError(GraphError):
    """A layer cannot accept the shapes arriving at its inputs."""


class TrainingError(NetwrightError):
    """Training cannot go on: divergence, bad data."""
