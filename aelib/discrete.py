"""VQ-VAE code grids: a digit's grid of codebook entries, one cell changed, and every entry tried in a cell."""

from __future__ import annotations

import torch

from aelib.latent import _device, _model_input
from aelib.models import Autoencoder, check_index


def check_discrete(model: Autoencoder) -> None:
    """Raise a clear ValueError unless `model` is a VQ-VAE, whose codes are grids of codebook entries."""
    if not model.discrete:
        raise ValueError(f"{model.config.preset} has continuous codes; code grids need a VQ-VAE "
                         "(train the `vq-vae` preset).")


@torch.no_grad()
def code_grid(model: Autoencoder, image: torch.Tensor) -> torch.Tensor:
    """The grid of codebook entries one digit is encoded as: (28, 28) or (1, 28, 28) -> (7, 7) long, on the CPU."""
    check_discrete(model)
    return model.codes(_model_input(model, torch.as_tensor(image).reshape(1, 1, 28, 28)))[0].cpu()


def set_cell(model: Autoencoder, grid: torch.Tensor, row: int, col: int, entry: int) -> torch.Tensor:
    """A copy of `grid` (7, 7) with the cell at (row, col) set to codebook `entry`; refuses a cell outside the grid
    or an entry outside the codebook."""
    check_discrete(model)
    row, col = (int(check_index(v, model.GRID, name)) for v, name in ((row, "row"), (col, "column")))
    new = torch.as_tensor(grid).clone()
    new[row, col] = int(check_index(entry, model.config.codebook, "codebook entry"))
    return new


@torch.no_grad()
def decode_grids(model: Autoencoder, grids: torch.Tensor) -> torch.Tensor:
    """Grids of entries (N, 7, 7), or one (7, 7), painted as digits: (N, 1, 28, 28) in [0, 1], on the CPU."""
    check_discrete(model)
    grids = torch.as_tensor(grids)
    grids = grids[None] if grids.dim() == 2 else grids
    return model.decode_codes(grids.to(_device(model))).cpu()


@torch.no_grad()
def cell_options(model: Autoencoder, grid: torch.Tensor, row: int, col: int) -> torch.Tensor:
    """The digit of `grid` with each codebook entry in turn at (row, col): (K, 1, 28, 28), in entry order."""
    size = model.config.codebook
    grids = torch.stack([set_cell(model, grid, row, col, k) for k in range(size)])  # (K, 7, 7)
    return decode_grids(model, grids)



def inkiest_cell(model: Autoencoder, image: torch.Tensor) -> tuple[int, int]:
    """The cell of the code grid over the most ink of `image` (28, 28): where a changed entry shows most."""
    check_discrete(model)
    side = model.GRID
    patches = torch.as_tensor(image).float().reshape(side, 28 // side, side, 28 // side).sum((1, 3))  # (7, 7)
    row, col = divmod(int(patches.argmax()), side)
    return row, col
