"""What Lightning's `Trainer.predict` returns: predictions moved to the CPU, computed under inference mode."""
import pytest

from test_analysis import reveal

from tensorlint.analysis import NO

LIGHTNING_MODULE = ("class Forecaster(pl.LightningModule):\n"
                    "    def forward(self, x):\n        return self.net(x)\n"
                    "    def predict_all(self, data):\n"
                    "        trainer = pl.Trainer(accelerator='gpu')\n"
                    "        reveal(trainer.predict(self, datamodule=data))\n")


@pytest.mark.parametrize("import_line", ["import pytorch_lightning as pl", "import lightning.pytorch as pl",
                                         "import lightning as pl"])
def test_predictions_are_host_values_without_grad(import_line):
    facts = reveal(f"{import_line}\n" + LIGHTNING_MODULE, view=lambda facts: (facts.device, facts.grad))
    assert facts[-1] == (NO, NO)


def test_a_trainer_imported_by_name():
    body = "from pytorch_lightning import Trainer\n" + LIGHTNING_MODULE.replace("pl.Trainer", "Trainer").replace(
        "pl.LightningModule", "torch.nn.Module")
    assert reveal(body, view=lambda facts: facts.device)[-1] is NO


def test_another_objects_predict_keeps_its_arguments_device():
    body = ("import pytorch_lightning as pl\n" + LIGHTNING_MODULE.replace("pl.Trainer(accelerator='gpu')",
                                                                          "make_runner()"))
    assert reveal(body, view=lambda facts: facts.device)[-1] is not NO
