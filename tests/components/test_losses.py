"""Loss values against hand-computed references, weights and errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ash.components.discretizers import OUTER_EDGE_BPS
from ash.components.losses import CrossEntropy, Focal, RankedProbabilityScore, SoftGaussian

B, H, K = 6, 3, 7
G = torch.Generator().manual_seed(0)
LOGITS = torch.randn(B, H, K, generator=G)
TARGETS = torch.randint(0, K, (B, H), generator=G)
EDGES = torch.cat(
    [torch.tensor([-OUTER_EDGE_BPS]), torch.linspace(-3, 3, K - 1), torch.tensor([OUTER_EDGE_BPS])]
).expand(B, H, -1)
ALL = torch.ones(B, H, dtype=torch.bool)


def test_cross_entropy_matches_torch_and_weights_by_horizon() -> None:
    ce = CrossEntropy(CrossEntropy.Config(), H, K)
    expected = F.cross_entropy(LOGITS.reshape(-1, K), TARGETS.reshape(-1))
    assert ce(LOGITS, TARGETS, EDGES, ALL).item() == pytest.approx(expected.item(), rel=1e-6)
    only_last = CrossEntropy(CrossEntropy.Config(horizon_weights=(0.0, 0.0, 2.0)), H, K)
    expected_last = F.cross_entropy(LOGITS[:, 2], TARGETS[:, 2])
    assert only_last(LOGITS, TARGETS, EDGES, ALL).item() == pytest.approx(
        expected_last.item(), rel=1e-6
    )


def test_mask_averages_only_valid_entries() -> None:
    ce = CrossEntropy(CrossEntropy.Config(), H, K)
    mask = ALL.clone()
    mask[:, 1:] = False
    expected = F.cross_entropy(LOGITS[:, 0], TARGETS[:, 0])
    assert ce(LOGITS, TARGETS, EDGES, mask).item() == pytest.approx(expected.item(), rel=1e-6)
    assert ce(LOGITS, TARGETS, EDGES, torch.zeros_like(mask)).item() == 0.0


def test_focal_with_gamma_zero_is_cross_entropy_and_downweights_easy_examples() -> None:
    ce = CrossEntropy(CrossEntropy.Config(), H, K)(LOGITS, TARGETS, EDGES, ALL)
    focal0 = Focal(Focal.Config(gamma=0.0), H, K)(LOGITS, TARGETS, EDGES, ALL)
    focal2 = Focal(Focal.Config(gamma=2.0), H, K)(LOGITS, TARGETS, EDGES, ALL)
    assert focal0.item() == pytest.approx(ce.item(), rel=1e-6)
    assert focal2.item() < ce.item()


def test_soft_gaussian_narrow_is_cross_entropy_and_bps_space_uses_centres() -> None:
    ce = CrossEntropy(CrossEntropy.Config(), H, K)(LOGITS, TARGETS, EDGES, ALL)
    narrow = SoftGaussian(SoftGaussian.Config(sigma=1e-3), H, K)(LOGITS, TARGETS, EDGES, ALL)
    assert narrow.item() == pytest.approx(ce.item(), rel=1e-5)
    wide_idx = SoftGaussian(SoftGaussian.Config(sigma=1.0), H, K)(LOGITS, TARGETS, EDGES, ALL)
    # Inner buckets are 1.2 bps wide, so sigma=1.2 bps in bps-space equals sigma=1 bucket,
    # except at the outer buckets whose mirrored centres are also 1.2 bps apart.
    wide_bps = SoftGaussian(SoftGaussian.Config(space="bps", sigma=1.2), H, K)(
        LOGITS, TARGETS, EDGES, ALL
    )
    assert wide_bps.item() == pytest.approx(wide_idx.item(), rel=1e-4)


def test_rps_hand_computed() -> None:
    logits = torch.log(torch.tensor([[[0.2, 0.5, 0.3]]]))
    rps = RankedProbabilityScore(RankedProbabilityScore.Config(), 1, 3)
    edges = torch.tensor([[[-OUTER_EDGE_BPS, -1.0, 1.0, OUTER_EDGE_BPS]]])
    one = torch.ones(1, 1, dtype=torch.bool)
    # target 2: CDF (0.2, 0.7) vs (0, 0) → (0.04 + 0.49) / 2
    value = rps(logits, torch.tensor([[2]]), edges, one)
    assert value.item() == pytest.approx(0.265, rel=1e-5)
    # target 0: CDF (0.2, 0.7) vs (1, 1) → (0.64 + 0.09) / 2
    assert rps(logits, torch.tensor([[0]]), edges, one).item() == pytest.approx(0.365, rel=1e-5)


def test_bad_weights_and_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match="horizon_weights needs 3 non-negative values"):
        CrossEntropy(CrossEntropy.Config(horizon_weights=(1.0, 1.0)), H, K)
    ce = CrossEntropy(CrossEntropy.Config(), H, K)
    with pytest.raises(ValueError, match="built for 3 × 7"):
        ce(LOGITS[:, :2], TARGETS[:, :2], EDGES[:, :2], ALL[:, :2])
    with pytest.raises(ValueError, match=r"must both be \(6, 3\)"):
        ce(LOGITS, TARGETS[:2], EDGES, ALL)
