"""The reference AttnSleep network (Sleep-EDF variant, 100 Hz input of 3000 samples) in PyTorch.

Written from ../../shared/reference/attnsleep-architecture.md with the reference
implementation's module structure, so the state_dict names are the reference's
(mrcnn.features1.*, mrcnn.features2.*, mrcnn.AFR.0.*, tce.layers.N.*, tce.norm, fc).
Its quirks are kept on purpose because sleepfold reproduces them:
- the SE block's conv1 gets the stride where the kernel size goes (kernel 1);
- the attention's convs.0 is built but never used;
- sublayer_output.0 computes its norm and then ignores it (the closure uses the
  un-normalised input), so that norm gets no gradient;
- the layer norm is a_2 * (x - mean) / (std + eps) + b_2 with the unbiased std.
Used only to benchmark sleepfold against PyTorch on the same machine.
"""

import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class SELayer(nn.Module):
    """Squeeze-and-excitation: a per-channel gate from the time-averaged channel."""

    def __init__(self, channel, reduction=16):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Sequential(
            nn.Linear(channel, channel // reduction, bias=False),
            nn.ReLU(inplace=True),
            nn.Linear(channel // reduction, channel, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x):
        b, c, _ = x.size()
        y = self.avg_pool(x).view(b, c)
        y = self.fc(y).view(b, c, 1)
        return x * y.expand_as(x)


class SEBasicBlock(nn.Module):
    """The adaptive feature recalibration block: two 1x1 convs, SE gate, residual."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, reduction=16):
        super().__init__()
        # The reference passes `stride` as the kernel size here; with stride 1 it is kernel 1.
        self.conv1 = nn.Conv1d(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm1d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv1d(planes, planes, 1)
        self.bn2 = nn.BatchNorm1d(planes)
        self.se = SELayer(planes, reduction)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = self.se(out)
        if self.downsample is not None:
            residual = self.downsample(x)
        out += residual
        return self.relu(out)


class GELU(nn.Module):
    """Exact (erf) GELU, as the reference's own module."""

    def forward(self, x):
        return F.gelu(x)


class MRCNN(nn.Module):
    """Multi-resolution CNN: a fine and a coarse branch concatenated along time, then AFR."""

    def __init__(self, afr_reduced_cnn_size):
        super().__init__()
        drate = 0.5
        self.GELU = GELU()
        self.features1 = nn.Sequential(
            nn.Conv1d(1, 64, kernel_size=50, stride=6, bias=False, padding=24),
            nn.BatchNorm1d(64),
            self.GELU,
            nn.MaxPool1d(kernel_size=8, stride=2, padding=4),
            nn.Dropout(drate),
            nn.Conv1d(64, 128, kernel_size=8, stride=1, bias=False, padding=4),
            nn.BatchNorm1d(128),
            self.GELU,
            nn.Conv1d(128, 128, kernel_size=8, stride=1, bias=False, padding=4),
            nn.BatchNorm1d(128),
            self.GELU,
            nn.MaxPool1d(kernel_size=4, stride=4, padding=2),
        )
        self.features2 = nn.Sequential(
            nn.Conv1d(1, 64, kernel_size=400, stride=50, bias=False, padding=200),
            nn.BatchNorm1d(64),
            self.GELU,
            nn.MaxPool1d(kernel_size=4, stride=2, padding=2),
            nn.Dropout(drate),
            nn.Conv1d(64, 128, kernel_size=7, stride=1, bias=False, padding=3),
            nn.BatchNorm1d(128),
            self.GELU,
            nn.Conv1d(128, 128, kernel_size=7, stride=1, bias=False, padding=3),
            nn.BatchNorm1d(128),
            self.GELU,
            nn.MaxPool1d(kernel_size=2, stride=2, padding=1),
        )
        self.dropout = nn.Dropout(drate)
        self.inplanes = 128
        self.AFR = self._make_layer(SEBasicBlock, afr_reduced_cnn_size, 1)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv1d(self.inplanes, planes * block.expansion, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm1d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x_concat = torch.cat((self.features1(x), self.features2(x)), dim=2)
        x_concat = self.dropout(x_concat)
        return self.AFR(x_concat)


def attention(query, key, value, dropout=None):
    """Scaled dot-product attention with dropout on the weights."""
    d_k = query.size(-1)
    scores = torch.matmul(query, key.transpose(-2, -1)) / math.sqrt(d_k)
    p_attn = F.softmax(scores, dim=-1)
    if dropout is not None:
        p_attn = dropout(p_attn)
    return torch.matmul(p_attn, value), p_attn


class CausalConv1d(nn.Conv1d):
    """Conv1d padded on both sides with the last (kernel-1)*dilation outputs dropped."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, dilation=1, groups=1, bias=True):
        self.__padding = (kernel_size - 1) * dilation
        super().__init__(in_channels, out_channels, kernel_size=kernel_size, stride=stride,
                         padding=self.__padding, dilation=dilation, groups=groups, bias=bias)

    def forward(self, input):
        result = super().forward(input)
        if self.__padding != 0:
            return result[:, :, :-self.__padding]
        return result


def clones(module, n):
    """n independent deep copies of a module."""
    return nn.ModuleList([copy.deepcopy(module) for _ in range(n)])


class MultiHeadedAttention(nn.Module):
    """Multi-head attention whose keys and values come from causal convolutions."""

    def __init__(self, h, d_model, afr_reduced_cnn_size, dropout=0.1):
        super().__init__()
        assert d_model % h == 0
        self.d_k = d_model // h
        self.h = h
        # convs[0] exists in the reference but is never used.
        self.convs = clones(CausalConv1d(afr_reduced_cnn_size, afr_reduced_cnn_size, kernel_size=7, stride=1), 3)
        self.linear = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, query, key, value):
        nbatches = query.size(0)
        query = query.view(nbatches, -1, self.h, self.d_k).transpose(1, 2)
        key = self.convs[1](key).view(nbatches, -1, self.h, self.d_k).transpose(1, 2)
        value = self.convs[2](value).view(nbatches, -1, self.h, self.d_k).transpose(1, 2)
        x, self.attn = attention(query, key, value, dropout=self.dropout)
        x = x.transpose(1, 2).contiguous().view(nbatches, -1, self.h * self.d_k)
        return self.linear(x)


class LayerNorm(nn.Module):
    """The reference's layer norm: unbiased std, eps added to the std."""

    def __init__(self, features, eps=1e-6):
        super().__init__()
        self.a_2 = nn.Parameter(torch.ones(features))
        self.b_2 = nn.Parameter(torch.zeros(features))
        self.eps = eps

    def forward(self, x):
        mean = x.mean(-1, keepdim=True)
        std = x.std(-1, keepdim=True)
        return self.a_2 * (x - mean) / (std + self.eps) + self.b_2


class SublayerOutput(nn.Module):
    """Residual around a sublayer applied to the normalised input."""

    def __init__(self, size, dropout):
        super().__init__()
        self.norm = LayerNorm(size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, sublayer):
        return x + self.dropout(sublayer(self.norm(x)))


class PositionwiseFeedForward(nn.Module):
    """Linear 80->120, ReLU, dropout, Linear 120->80."""

    def __init__(self, d_model, d_ff, dropout=0.1):
        super().__init__()
        self.w_1 = nn.Linear(d_model, d_ff)
        self.w_2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.w_2(self.dropout(F.relu(self.w_1(x))))


class EncoderLayer(nn.Module):
    """One temporal-context encoder layer: causal-conv query, attention, feed-forward."""

    def __init__(self, size, self_attn, feed_forward, afr_reduced_cnn_size, dropout):
        super().__init__()
        self.self_attn = self_attn
        self.feed_forward = feed_forward
        self.sublayer_output = clones(SublayerOutput(size, dropout), 2)
        self.size = size
        self.conv = CausalConv1d(afr_reduced_cnn_size, afr_reduced_cnn_size, kernel_size=7, stride=1, dilation=1)

    def forward(self, x_in):
        query = self.conv(x_in)
        # The closure ignores its (normalised) argument, as in the reference.
        x = self.sublayer_output[0](query, lambda x: self.self_attn(query, x_in, x_in))
        return self.sublayer_output[1](x, self.feed_forward)


class TCE(nn.Module):
    """Temporal context encoder: N encoder layers and a final layer norm."""

    def __init__(self, layer, n):
        super().__init__()
        self.layers = clones(layer, n)
        self.norm = LayerNorm(layer.size)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


class AttnSleep(nn.Module):
    """AttnSleep: MRCNN + AFR feature extractor, TCE encoder, linear classifier over 5 stages."""

    def __init__(self):
        super().__init__()
        n, d_model, d_ff, h, dropout, num_classes, afr_reduced_cnn_size = 2, 80, 120, 5, 0.1, 5, 30
        attn = MultiHeadedAttention(h, d_model, afr_reduced_cnn_size)
        ff = PositionwiseFeedForward(d_model, d_ff, dropout)
        self.mrcnn = MRCNN(afr_reduced_cnn_size)
        self.tce = TCE(EncoderLayer(d_model, copy.deepcopy(attn), copy.deepcopy(ff), afr_reduced_cnn_size, dropout), n)
        self.fc = nn.Linear(d_model * afr_reduced_cnn_size, num_classes)

    def forward(self, x):
        x_feat = self.mrcnn(x)
        encoded = self.tce(x_feat)
        encoded = encoded.contiguous().view(encoded.shape[0], -1)
        return self.fc(encoded)


def weights_init_normal(m):
    """The reference initialisation: conv weights N(0, 0.02), BatchNorm weight N(1, 0.02), bias 0."""
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm1d") != -1:
        torch.nn.init.normal_(m.weight.data, 1.0, 0.02)
        torch.nn.init.constant_(m.bias.data, 0.0)


def build_model(seed=0):
    """A freshly initialised AttnSleep, as the reference trainer builds it."""
    torch.manual_seed(seed)
    model = AttnSleep()
    model.apply(weights_init_normal)
    return model


def make_optimizer(model):
    """The reference optimizer: Adam lr 1e-3, betas (0.9, 0.999), L2 weight decay 1e-3, AMSGrad."""
    return torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=1e-3, amsgrad=True)


def parameter_count(model):
    """Number of trainable scalars (522,805 for the full-size network)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
