"""The plain reference loop: the standard PyTorch VAE example (S5), trained to a target test loss.

Written the way pytorch/examples' vae/main.py trains: torchvision MNIST with a per-sample
ToTensor, a DataLoader with batch 128 and shuffling, Adam at lr 1e-3, and a test pass with
a DataLoader after every epoch.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn, optim
from torchvision import datasets, transforms


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def time_to_target(root: str, device: torch.device, seed: int, target: float, max_epochs: int = 30) -> dict:
    """Train until the mean test loss per image is at most `target`; return seconds and epochs."""
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    kwargs = {"num_workers": 1, "pin_memory": True} if device.type == "cuda" else {}
    train_loader = torch.utils.data.DataLoader(
        datasets.MNIST(root, train=True, download=True, transform=transforms.ToTensor()),
        batch_size=128, shuffle=True, **kwargs)
    test_loader = torch.utils.data.DataLoader(
        datasets.MNIST(root, train=False, transform=transforms.ToTensor()),
        batch_size=128, shuffle=False, **kwargs)
    model = VAE().to(device)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    history = []
    for epoch in range(1, max_epochs + 1):
        model.train()
        for data, _ in train_loader:
            data = data.to(device)
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            optimizer.step()
        model.eval()
        test_loss = 0.0
        with torch.no_grad():
            for data, _ in test_loader:
                data = data.to(device)
                recon_batch, mu, logvar = model(data)
                test_loss += loss_function(recon_batch, data, mu, logvar).item()
        test_loss /= len(test_loader.dataset)
        history.append(test_loss)
        if test_loss <= target:
            return {"seconds": time.perf_counter() - t0, "epochs": epoch, "loss": test_loss, "history": history}
    return {"seconds": float("nan"), "epochs": max_epochs, "loss": test_loss, "history": history}
