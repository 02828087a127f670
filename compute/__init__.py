"""Netwright's engine: graphs, layers, models, training. Pure Python + NumPy + Numba.

This package never imports Qt (a test enforces it), so scripts and the CLI use it alone.
"""
from .errors import GraphError, NetwrightError, ProjectError, ShapeError, TrainingError
from .graph import Edge, Graph, Issue, Node, Shapes
from .layers import layer_class, layer_types
from .model import Model, Regularization, build_model
from .project import Project, load_project, save_project
from .training import History, Trainer, train
from .weights import load_weights, save_weights

__all__ = ["Edge", "Graph", "GraphError", "Issue", "Model", "NetwrightError", "Node",
           "ProjectError", "Regularization", "ShapeError", "Shapes", "TrainingError",
           "build_model", "layer_class", "layer_types", "Project", "load_project",
           "save_project", "load_weights", "save_weights", "History", "Trainer", "train"]
