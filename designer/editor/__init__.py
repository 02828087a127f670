"""The node editor: canvas (scene, view, items), palette, inspector and undo commands."""
