"""The reader's training (training/reader/train.py): a smaller reader cut from the base model."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForQuestionAnswering

from embeddings.sentence_transformers import resolve_model_path
from training.reader.train import keep_layers

pytestmark = pytest.mark.slow  # loads the base model's weights


def test_a_reader_cut_to_three_layers_saves_and_loads_as_three(tmp_path) -> None:
    model = AutoModelForQuestionAnswering.from_pretrained(resolve_model_path("all-MiniLM-L6-v2"))
    full = sum(p.numel() for p in model.parameters())
    keep_layers(model, 3)
    assert len(model.base_model.encoder.layer) == 3 and model.config.num_hidden_layers == 3
    assert sum(p.numel() for p in model.parameters()) < full
    ids = torch.tensor([[101, 2040, 2180, 102, 4238, 2180, 1012, 102]])
    out = model(input_ids=ids, attention_mask=torch.ones_like(ids))
    assert out.start_logits.shape == (1, 8)
    model.save_pretrained(tmp_path)
    again = AutoModelForQuestionAnswering.from_pretrained(tmp_path)
    assert len(again.base_model.encoder.layer) == 3


@pytest.mark.parametrize("layers", [0, 7, -1])
def test_a_layer_count_the_base_does_not_have_is_refused(layers: int) -> None:
    model = AutoModelForQuestionAnswering.from_pretrained(resolve_model_path("all-MiniLM-L6-v2"))
    with pytest.raises(ValueError, match="the base has 6 layers"):
        keep_layers(model, layers)
