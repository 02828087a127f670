"""Light and dark themes: the application palette and the canvas colours, in one place.

Every colour the editor paints comes from the current `Theme`, so switching themes is
setting one object and asking the scene to repaint. Node headers are coloured by layer
family; label colours are chosen for contrast against the colour they sit on.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

# One hue per palette family (compute.layers.FAMILIES); unknown families fall back to grey.
_FAMILY_LIGHT = {
    "Input": "#2e9d8f",
    "Core": "#3b6fd4",
    "Convolution": "#8250c4",
    "Recurrent": "#d9752b",
    "Merge": "#c9a227",
    "Regularization": "#6b7a8f",
    "Output": "#d0455b",
}
_FAMILY_DARK = {
    "Input": "#3fb6a6",
    "Core": "#5a8ae6",
    "Convolution": "#9c6ee0",
    "Recurrent": "#e68a45",
    "Merge": "#d8b440",
    "Regularization": "#8393a8",
    "Output": "#e35d72",
}


@dataclass(frozen=True)
class Theme:
    name: str
    dark: bool
    window: str
    base: str
    text: str
    muted_text: str
    highlight: str
    canvas: str
    grid_minor: str
    grid_major: str
    node_body: str
    node_border: str
    node_text: str
    node_subtext: str
    shape_text: str
    edge: str
    edge_label_bg: str
    edge_label_text: str
    port: str
    port_compatible: str
    port_refused: str
    selection: str
    error: str
    families: dict[str, str] = field(default_factory=dict)

    def color(self, attr: str) -> QColor:
        return QColor(getattr(self, attr))

    def family_color(self, family: str) -> QColor:
        return QColor(self.families.get(family, "#7f8790"))

    @staticmethod
    def text_on(background: QColor) -> QColor:
        """Black or white, whichever reads better on `background` (WCAG luminance)."""
        def channel(c: float) -> float:
            c /= 255.0
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        lum = (0.2126 * channel(background.red()) + 0.7152 * channel(background.green())
               + 0.0722 * channel(background.blue()))
        return QColor("#111418") if lum > 0.28 else QColor("#ffffff")


LIGHT = Theme(
    name="light", dark=False,
    window="#f3f4f6", base="#ffffff", text="#1d2127", muted_text="#5f6673",
    highlight="#2f6fde",
    canvas="#fafbfc", grid_minor="#eef0f3", grid_major="#dfe3e8",
    node_body="#ffffff", node_border="#b8bfc9", node_text="#1d2127", node_subtext="#4c5360",
    shape_text="#3f4652",
    edge="#7d8693", edge_label_bg="#ffffff", edge_label_text="#30363f",
    port="#8a929e", port_compatible="#22a35a", port_refused="#c9c9c9",
    selection="#2f6fde", error="#d93a3a",
    families=_FAMILY_LIGHT,
)

DARK = Theme(
    name="dark", dark=True,
    window="#25282d", base="#1c1f23", text="#e6e8eb", muted_text="#a2a9b4",
    highlight="#4c8dff",
    canvas="#1b1d21", grid_minor="#22252a", grid_major="#2d3137",
    node_body="#2b2f35", node_border="#4a505a", node_text="#eef0f3", node_subtext="#b9c0ca",
    shape_text="#c3c9d2",
    edge="#8c95a3", edge_label_bg="#2b2f35", edge_label_text="#dde1e6",
    port="#9aa3ae", port_compatible="#39c776", port_refused="#4a4f57",
    selection="#4c8dff", error="#f05252",
    families=_FAMILY_DARK,
)

THEMES = {"light": LIGHT, "dark": DARK}
_current = LIGHT


def current() -> Theme:
    return _current


def by_name(name: str) -> Theme:
    return THEMES.get(name, LIGHT)


def palette(theme: Theme) -> QPalette:
    """A complete QPalette for the widgets around the canvas."""
    p = QPalette()
    c = QColor
    roles = {
        QPalette.Window: theme.window, QPalette.WindowText: theme.text,
        QPalette.Base: theme.base, QPalette.AlternateBase: theme.window,
        QPalette.Text: theme.text, QPalette.Button: theme.window,
        QPalette.ButtonText: theme.text, QPalette.ToolTipBase: theme.base,
        QPalette.ToolTipText: theme.text, QPalette.Highlight: theme.highlight,
        QPalette.HighlightedText: "#ffffff", QPalette.PlaceholderText: theme.muted_text,
        QPalette.Link: theme.highlight, QPalette.BrightText: theme.error,
        QPalette.Light: theme.base if theme.dark else "#ffffff",
        QPalette.Midlight: theme.node_border, QPalette.Mid: theme.node_border,
        QPalette.Dark: theme.grid_major, QPalette.Shadow: "#000000",
    }
    for role, colour in roles.items():
        p.setColor(role, c(colour))
    for role in (QPalette.Text, QPalette.WindowText, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, c(theme.muted_text))
    return p


def apply(theme: Theme, app: QApplication | None = None) -> None:
    """Make `theme` current and give the application its palette (Fusion style, so the
    palette is honoured the same way on every platform)."""
    global _current
    _current = theme
    app = app or QApplication.instance()
    if app is None:
        return
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    app.setPalette(palette(theme))
