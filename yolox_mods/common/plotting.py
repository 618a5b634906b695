"""Matplotlib without a display, figures written atomically."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)

from .io import atomic_open  # noqa: E402


def save_figure(figure, path: str, dpi: int = 110) -> None:
    """Write ``figure`` as PNG through a temporary file, then close it."""
    figure.tight_layout()
    with atomic_open(path, "wb") as file:
        figure.savefig(file, format="png", dpi=dpi)
    plt.close(figure)


__all__ = ["plt", "save_figure"]
