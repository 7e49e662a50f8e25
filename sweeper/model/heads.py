"""The heads task types put on the shared encoder, and the multi-task container.

Each task keeps its own head; only the encoder is carried from the intermediate phase
into the target phase. Weights are saved as safetensors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn


class ClassificationHead(nn.Module):
    """RoBERTa-style head on the <s> token: dense -> tanh -> dropout -> labels."""

    def __init__(self, hidden: int, num_labels: int, dropout: float = 0.1):
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, num_labels)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        x = self.dropout(states[:, 0])
        return self.out(self.dropout(torch.tanh(self.dense(x))))


class TokenHead(nn.Module):
    """A linear layer over every sub-token: tagging (n tags) or QA start/end (2)."""

    def __init__(self, hidden: int, num_outputs: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, num_outputs)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(states))


class MaskedLmHead(nn.Module):
    """XLM-R's masked-LM head (dense, gelu, layer norm, then the decoder whose weight IS
    the encoder's input embedding matrix, as XLM-R ties them), applied to the states of the
    masked positions only. `pretrained`: the checkpoint's lm_head weights (dense, layer
    norm, bias), where it has them; else they start as transformers initialises them."""

    def __init__(self, encoder: nn.Module, pretrained: dict[str, torch.Tensor] | None = None):
        super().__init__()
        from transformers.models.xlm_roberta.modeling_xlm_roberta import (
            XLMRobertaLMHead,
        )

        config = encoder.config
        self.head = XLMRobertaLMHead(config)
        nn.init.normal_(self.head.dense.weight, std=config.initializer_range)
        nn.init.zeros_(self.head.dense.bias)
        nn.init.zeros_(self.head.bias)
        self.head.decoder.weight = encoder.get_input_embeddings().weight  # tied, shared
        self.head.decoder.bias = self.head.bias
        if pretrained:
            self.head.load_state_dict(pretrained, strict=False)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.head(states)


class MultiTaskModel(nn.Module):
    """A shared encoder with a ModuleDict of task heads."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.heads = nn.ModuleDict()

    @property
    def hidden_size(self) -> int:
        return int(self.encoder.config.hidden_size)

    def add_head(self, name: str, head: nn.Module | None) -> None:
        """Give task `name` its head (a type that trains nothing has none); a task keeps
        the head it has."""
        if head is not None and name not in self.heads:
            device = next(self.encoder.parameters()).device
            self.heads[name] = head.to(device)

    def compile_encoder(self, backend: str = "inductor") -> None:
        """Run the encoder's forward through torch.compile (dynamic shapes: batches are
        padded to their own length). Saving and loading weights are unchanged."""
        # kept outside the module tree: the same weights, not a second submodule
        object.__setattr__(self, "_compiled",
                           torch.compile(self.encoder, dynamic=True, backend=backend))

    @property
    def levers(self) -> Any:
        """The speed levers training steps run through (sweeper.model.levers), or None."""
        return getattr(self, "_levers", None)

    def use_levers(self, levers: Any) -> None:
        """Run training steps' encoder passes through `levers` (None: eagerly)."""
        object.__setattr__(self, "_levers", levers)  # not a submodule: the same weights

    def encode(self, input_ids: torch.Tensor, attention_mask: Any) -> torch.Tensor:
        levers = self.levers
        if levers is not None and self.training and torch.is_grad_enabled():
            return levers.encode(input_ids, attention_mask)
        compiled = getattr(self, "_compiled", None)  # a module: never tested for truth
        encoder = self.encoder if compiled is None else compiled
        return encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def forward(self, head: str, input_ids: torch.Tensor, attention_mask: Any) -> torch.Tensor:
        return self.heads[head](self.encode(input_ids, attention_mask))

    def save(self, directory: str | Path) -> None:
        """Encoder via save_pretrained (safetensors) and heads in heads.safetensors."""
        directory = Path(directory)
        self.encoder.save_pretrained(str(directory / "encoder"))
        shared = {p.data_ptr() for p in self.encoder.parameters()}  # tied to the encoder
        heads = {k: v.detach().contiguous().cpu() for k, v in self.heads.state_dict().items()
                 if v.data_ptr() not in shared}
        heads = {k: v for k, v in heads.items()
                 if not k.endswith("head.decoder.bias")}  # the head's own bias, once
        if heads:
            save_file(heads, str(directory / "heads.safetensors"))

    def load_encoder_weights(self, directory: str | Path) -> None:
        """Load an encoder saved by `save` (its heads stay behind: tasks keep their own)."""
        path = Path(directory) / "encoder" / "model.safetensors"
        state = load_file(str(path), device=str(next(self.encoder.parameters()).device))
        missing, unexpected = self.encoder.load_state_dict(state, strict=False)
        if unexpected or [m for m in missing if "position_ids" not in m]:
            raise RuntimeError(f"encoder checkpoint {path} does not match the model")
