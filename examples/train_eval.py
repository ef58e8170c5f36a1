"""Train and evaluate a small classifier on synthetic tabular data.

tensorlint's worked example: it contains real PyTorch-to-NumPy hazards, each of which crashes
(or wastes graph memory) once the model runs on a GPU or the tensor requires grad.
examples/README.md lists them; `tensorlint check examples/` finds them.
"""
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, roc_auc_score
from torch.utils.data import DataLoader, TensorDataset

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class MLP(nn.Module):
    def __init__(self, n_features, n_classes, hidden=64):
        super().__init__()
        self.fc1 = nn.Linear(n_features, hidden)
        self.fc2 = nn.Linear(hidden, n_classes)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x):
        return self.fc2(self.dropout(F.relu(self.fc1(x))))


def to_numpy(t):
    return t.numpy()


def make_loaders(n=2000, n_features=20, batch_size=64):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(n, n_features)).astype(np.float32)
    labels = (features[:, 0] + features[:, 1] > 0).astype(np.int64)
    X, y = torch.from_numpy(features), torch.from_numpy(labels)
    split = int(0.8 * n)
    train = TensorDataset(X[:split], y[:split])
    test = TensorDataset(X[split:], y[split:])
    return DataLoader(train, batch_size=batch_size, shuffle=True), DataLoader(test, batch_size=batch_size)


def train_one_epoch(model, loader, optimizer):
    model.train()
    losses, outputs = [], []
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        logits = model(xb)
        loss = F.cross_entropy(logits, yb)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        outputs.append(logits)
    train_logits = np.vstack(outputs)
    return float(np.mean(losses)), train_logits


def evaluate(model, loader):
    model.eval()
    probs, preds, targets = [], [], []
    with torch.no_grad():
        for xb, yb in loader:
            logits = model(xb.to(device))
            probs.append(F.softmax(logits, dim=1)[:, 1].cpu().numpy())
            preds.append(logits.argmax(dim=1))
            targets.append(yb)
    y_true = np.concatenate(targets)
    y_pred = torch.cat(preds)
    return accuracy_score(y_true, y_pred), roc_auc_score(y_true, np.concatenate(probs))


def predict_proba(model, x):
    model.eval()
    return F.softmax(model(x.to(device)), dim=1).numpy()


def embed(model, x):
    return F.relu(model.fc1(x.to(device))).cpu().detach().numpy()


def main(epochs=5):
    torch.manual_seed(0)
    train_loader, test_loader = make_loaders()
    model = MLP(n_features=20, n_classes=2).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    history = []
    for epoch in range(epochs):
        loss, _ = train_one_epoch(model, train_loader, optimizer)
        acc, auc = evaluate(model, test_loader)
        history.append((loss, acc, auc))
        print(f"epoch {epoch}: loss {loss:.4f}  accuracy {acc:.3f}  auc {auc:.3f}")

    x_test, y_test = test_loader.dataset.tensors
    proba = predict_proba(model, x_test)
    np.save("embeddings.npy", embed(model, x_test))
    with torch.no_grad():
        logits = model(x_test.to(device))
        confident = (logits.softmax(dim=1).max(dim=1).values > 0.9).detach().cpu().numpy()
    print(f"{confident.mean():.1%} of test predictions are confident; mean p = {proba[:, 1].mean():.3f}")

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(14, 4))
    ax1.plot([h[0] for h in history], label="train loss")
    ax1.plot([h[1] for h in history], label="test accuracy")
    ax1.legend()
    ax2.hist(model.fc2.weight.flatten(), bins=30)
    ax3.imshow(model.fc1.weight.data.cpu().numpy(), aspect="auto", cmap="coolwarm")
    fig.savefig("training.png")
    np.save("fc2_bias.npy", to_numpy(model.fc2.bias))


if __name__ == "__main__":
    main()
