"""The attribute classifiers' architectures, after Mazandarani et al. (DoCEIS 2021).

VGG-style blocks (3×3 convolution + batch norm + ReLU, twice, then 2×2 max-pool and dropout);
the fully connected head of VGG is replaced by a 1×1 convolution to one channel and global
average pooling ("squeeze"), which keeps the models a few hundred kB and independent of
spatial detail far from the evidence. The paper's SqueezeMiniVGG (eyes, mouth) has MiniVGG's
two blocks of 32 and 64 channels, its SqueezeVGG (face covered) two more.

The defaults here differ, for speed on CPU (training and run time) and, on pilots, accuracy:
eyes and mouth get three narrower blocks (16, 32, 64). On a pilot (6 epochs on eye patches of
two sources) this had a validation EER of 0.11 against 0.24 for (32, 64), trained 2-3 times
faster and scores a crop in half the time: the third pool doubles the receptive field, so the
head sees a whole eyelid or lip line rather than fragments. The face-covered model keeps the
paper's "two more blocks", five narrow ones (8, 16, 32, 64, 128) on its 128×128 crop: the last
units see the whole face, and on a pilot (3 epochs of real cover crops) it reached a validation
EER of 0.032 against 0.044 for four blocks, at the same training speed. :func:`squeeze_mini_vgg`
with ``widths=(32, 64)`` builds the paper's configuration.

The network returns logits (training uses a numerically stable BCE on them);
:class:`WithSigmoid` wraps it for export so the ONNX output is a probability.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from icaocheck.config import CropConfig

# Network input = uint8 pixel * INPUT_SCALE + INPUT_OFFSET, written into every model card.
# Plain [0, 1] scaling: the first batch norm takes care of centring.
INPUT_SCALE = 1.0 / 255.0
INPUT_OFFSET = 0.0


@dataclass(frozen=True)
class NetSpec:
    """Everything that defines an architecture; ``len(widths)`` is the number of blocks."""

    name: str
    input_size: int
    widths: tuple[int, ...]
    convs_per_block: int = 2
    dropout: float = 0.25
    # Standardise each crop (its own mean and spread) before the first block: a darker or flatter photo of the
    # same face then reaches the network alike (dim light read as a cover, issue 8).
    input_norm: bool = False

    def __post_init__(self) -> None:
        if not self.widths:
            raise ValueError("a network needs at least one block")
        if self.input_size % (2 ** len(self.widths)):
            raise ValueError(
                f"input size {self.input_size} is not divisible by 2^{len(self.widths)} (one pool per block)"
            )

    def layers(self) -> list[str]:
        """A readable layer list for the model card."""
        lines: list[str] = []
        channels, size = 1, self.input_size
        if self.input_norm:
            lines.append(f"input: each crop standardised (instance norm, no affine) @ {size}x{size}")
        for block, width in enumerate(self.widths, start=1):
            for _ in range(self.convs_per_block):
                lines.append(f"block {block}: conv3x3 {channels}->{width} @ {size}x{size} + batchnorm + relu")
                channels = width
            size //= 2
            lines.append(f"block {block}: maxpool2x2 -> {size}x{size} + dropout {self.dropout}")
        lines.append(f"head: conv1x1 {channels}->1 + global average pool + sigmoid")
        return lines


def squeeze_mini_vgg(input_size: int, widths: tuple[int, ...] = (16, 32, 64), dropout: float = 0.25) -> NetSpec:
    """SqueezeMiniVGG, for the small eye and mouth crops (the paper's widths: ``(32, 64)``)."""
    return NetSpec("SqueezeMiniVGG", input_size, widths, dropout=dropout)


def squeeze_vgg(input_size: int, widths: tuple[int, ...] = (8, 16, 32, 64, 128), dropout: float = 0.25) -> NetSpec:
    """SqueezeVGG, for the whole-face crop: narrow so that 128×128 stays well under 2 ms on one CPU thread."""
    return NetSpec("SqueezeVGG", input_size, widths, dropout=dropout)


def default_spec(attribute: str, crops: CropConfig | None = None) -> NetSpec:
    """The architecture of each data attribute (eyes, mouth, cover), sized to the crops of ``crops``."""
    crops = crops or CropConfig()
    if attribute == "eyes":
        return squeeze_mini_vgg(crops.eye_size)
    if attribute == "mouth":
        return squeeze_mini_vgg(crops.mouth_size)
    if attribute == "cover":
        return squeeze_vgg(crops.face_size)
    raise ValueError(f"no architecture for attribute {attribute!r}")


class AttributeNet(nn.Module):
    """The network of a :class:`NetSpec`: (N, 1, S, S) float input → (N,) logits."""

    def __init__(self, spec: NetSpec, seed: int = 0) -> None:
        super().__init__()
        self.spec = spec
        layers: list[nn.Module] = [nn.InstanceNorm2d(1, affine=False)] if spec.input_norm else []
        channels = 1
        for width in spec.widths:
            for _ in range(spec.convs_per_block):
                # No conv bias: the batch norm that follows has its own shift.
                layers += [
                    nn.Conv2d(channels, width, 3, padding=1, bias=False),
                    nn.BatchNorm2d(width),
                    nn.ReLU(),
                ]
                channels = width
            layers += [nn.MaxPool2d(2), nn.Dropout(spec.dropout)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(channels, 1, 1)
        self._initialise(seed)

    def _initialise(self, seed: int) -> None:
        # A private generator: the same seed gives the same weights whatever else used torch's RNG.
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, nn.Conv2d):
                    nn.init.kaiming_normal_(module.weight, nonlinearity="relu", generator=generator)
                    if module.bias is not None:
                        nn.init.zeros_(module.bias)
                elif isinstance(module, nn.BatchNorm2d):
                    nn.init.ones_(module.weight)
                    nn.init.zeros_(module.bias)
            # The head feeds a sigmoid, not a ReLU: start it small so first predictions sit near 0.5.
            nn.init.normal_(self.head.weight, std=0.01, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).mean(dim=(1, 2, 3))


class WithSigmoid(nn.Module):
    """The exported form: probabilities of the non-compliant class, shape (N,)."""

    def __init__(self, net: AttributeNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x))


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
