"""The kernels' argument groups: every layout a kernel reads, defined once, by name.

Kernels take a few of these named tuples (data, model state, config, scratch)
and read their fields by name; drivers build them once per fit and derive
variants with ``_replace`` (a Hogwild! replica's config without its L1 part is
``config._replace(l1=0.0)``). Arrays in a group are mutated in place by the
kernels; the scalar fields are read only. The helpers a kernel calls once per
step or per coordinate take the arrays themselves (and groups of scalars only,
such as :class:`StepSize`): a group of arrays passed to a compiled call is
reference-counted array by array at every call, which can cost as much as the
step itself (BENCHMARKS.md, Structure).

Dense data is ``Rows(X, None, None, y, weights)`` and CSR data
``Rows(data, indices, indptr, y, weights)``; the accessors of :mod:`.rows` are
specialized on that at compile time. A field that may be absent (sample
weights, the ASGD state, a lock) is ``None``, which compiles the feature away.

A model keeps its float scalars in one float64 array, read through the slot
names below: one set of slots for the SGD-family models (binary and K-class
alike) and one for the SVRG models. Intercepts are an array of their own, ``b``:
one value for a binary model, K for a K-class one.
"""
from typing import NamedTuple

import numpy as np

# slots of LinearModel.scalars and MulticlassModel.scalars: the weights are
# ``scale * v`` and ``l1_total`` is the L1 penalty per weight applied so far
SCALE, L1_TOTAL = 0, 1
# further slots of a head replica's LinearModel.scalars (:mod:`.split_replica`): the
# shared scale and L1 total it last read
S_REF, U_REF = 2, 3
# slots of SVRGModel.scalars and SoftmaxSVRGModel.scalars: the weights are
# ``P * (psi - c * R)`` (see :mod:`.svrg`); ``STEP`` counts a binary model's steps
P, R, STEP = 0, 1, 2
# slots of SVRGHeadReplica.scalars (:mod:`.svrg_async`): the worker's view of P and R,
# and the shared P and R it last read
VIEW_P, VIEW_R, REF_P, REF_R = 0, 1, 2, 3


class Rows(NamedTuple):
    """A data set as every kernel reads it."""

    X: np.ndarray            # dense (n, d) C-contiguous, or the CSR values
    indices: object          # CSR column indices (int32), None when dense
    indptr: object           # CSR row pointers, None when dense
    y: np.ndarray            # targets: +-1, floats, or int64 class indices
    weights: object          # sample weights (float64, n), or None


class Rule(NamedTuple):
    """An update rule as the kernels apply it (:mod:`.rules`): its code and
    hyper-parameters (momentum's beta and RMSProp's rho are ``beta1``)."""

    code: int
    beta1: float
    beta2: float
    eps: float


class StepSize(NamedTuple):
    """One step's size and its update rule's bias corrections (:func:`.rules.bias_corrections`)."""

    eta: float
    c1: float
    c2: float


class SGDConfig(NamedTuple):
    """What a binary SGD step needs besides the data and the model."""

    loss: int                    # loss code (:mod:`parallel_sgd.maths.losses`)
    rule: Rule
    l2: float                    # coefficient of ||w||^2 / 2
    l1: float                    # coefficient of ||w||_1
    intercept_rate: float        # multiplies the intercept's steps; 0: no intercept
    penalty_weights: np.ndarray  # n / d_j: the touched-coordinate penalty estimate


class LinearModel(NamedTuple):
    """A binary linear model as the SGD kernels hold it: ``w = scale * v``."""

    v: np.ndarray            # (d,) in the data's dtype
    b: np.ndarray            # (1,) float64: the intercept
    scalars: np.ndarray      # float64 at SCALE, L1_TOTAL
    q: np.ndarray            # (d,) L1 penalty each coordinate has received
    rule_state: np.ndarray   # (n_slots, d + 1): the update rule's, intercept last


class Average(NamedTuple):
    """Averaged-SGD state (:mod:`.averaging`)."""

    aw: np.ndarray           # (d,) float64
    avg: np.ndarray          # float64 at averaging.A, BSUM, COUNT, INTERCEPT, START


class Extras(NamedTuple):
    """What :func:`.sgd.sgd_epoch_extras` keeps besides the steps; either may be None."""

    average: object          # Average
    loss_sum: object         # float64 array of one: sum of s_i l(p_i, y_i) over the steps


class BatchScratch(NamedTuple):
    """Per-fit scratch of the mini-batch kernel (allocated once)."""

    derivs: np.ndarray       # (batch_size,) float64: the batch's loss derivatives
    acc: np.ndarray          # (d,) float64: summed gradient per touched coordinate
    count: np.ndarray        # (d,) float64: rows of the batch touching it, / batch size
    mark: np.ndarray         # (d + 1,) int64: stamp of the batch that last touched it
    touched: np.ndarray      # (d,) int64: the coordinates the batch touched


class MulticlassConfig(NamedTuple):
    """What a K-class SGD step needs besides the data and the model."""

    loss: int                # multiclass loss code (:mod:`parallel_sgd.maths.multiclass_losses`)
    l2: float
    l1: float
    intercept_rate: float


class MulticlassModel(NamedTuple):
    """A d x K model as the multiclass kernels hold it: ``W = scale * v``, flat row-major."""

    v: np.ndarray            # (d * K,) in the data's dtype, v[j * K + k]
    b: np.ndarray            # (K,) float64 intercepts
    scalars: np.ndarray      # float64 at SCALE, L1_TOTAL
    q: np.ndarray            # (d * K,) L1 penalty each weight has received


class Scores(NamedTuple):
    """Scratch of K scores and their derivatives, so a step allocates nothing."""

    p: np.ndarray            # (K,) float64
    g: np.ndarray            # (K,) float64


class MergeBase(NamedTuple):
    """What a replica's weights and state were at its last merge."""

    v: np.ndarray
    b: np.ndarray
    rule_state: np.ndarray


class Replica(NamedTuple):
    """A worker's private copy of the model and its merge base."""

    model: object            # LinearModel or MulticlassModel
    base: MergeBase
    scores: object           # Scores for a K-class replica, None for a binary one


class Merge(NamedTuple):
    """How replicas are merged into the shared model (:mod:`.hogwild`)."""

    every: int               # steps between a worker's merges
    shares: np.ndarray       # (d,) weight of coordinate j's change
    intercept_share: float   # weight of the intercepts' change
    state_share: float       # weight of the update rule state's change
    l1: float                # L1 strength, applied at merges
    lock: object             # int64 array of one (the global-lock baseline), or None


class Head(NamedTuple):
    """A Hogwild! worker's head replica (:mod:`.split_replica`): it keeps the features
    labeled ``0 .. size-1`` private and writes the others in place."""

    size: int                # H
    lock: np.ndarray         # int64 (1,): taken while a merge updates the shared scalars


class Channel(NamedTuple):
    """A worker's end of the team's spin hand-off (:mod:`.handoff`)."""

    sync: np.ndarray         # the team's int64 hand-off array
    worker: int              # this worker's number
    spins: int               # waits for the next call before returning to sleep


class Shard(NamedTuple):
    """A worker's own rows, in its epoch order, and their step sizes."""

    rows: np.ndarray         # int64 row ids, reshuffled in place every epoch
    etas: np.ndarray         # float64 step sizes, aligned with ``rows``
    rng: object              # the worker's numpy Generator


class Probe(NamedTuple):
    """A checkpoint's point and the margins the workers compute there."""

    point: np.ndarray        # (d + 1,) float64: w, then b
    out: np.ndarray          # (n,) float64: x_i . w + b


class SVRGConfig(NamedTuple):
    """A binary SVRG inner loop's constants (:mod:`.svrg`)."""

    loss: int
    eta: float               # the weights' step
    shrink: float            # eta * l2
    threshold: float         # eta * l1: the proximal step's threshold
    eta_b: float             # the intercept's step
    mu_b: np.ndarray         # (1,) the intercept's loss gradient at the snapshot


class SVRGModel(NamedTuple):
    """A binary SVRG iterate, lazily up to date (:mod:`.svrg`)."""

    psi: np.ndarray          # (d,) float64
    c: np.ndarray            # (d,) float64: eta * mu, the snapshot gradient's term
    last: np.ndarray         # (d,) int64: the step each coordinate is up to (with L1)
    b: np.ndarray            # (1,) float64: the intercept
    scalars: np.ndarray      # float64 at P, R, STEP


class SoftmaxSVRGConfig(NamedTuple):
    """A softmax SVRG inner loop's constants (:mod:`.multiclass_svrg`)."""

    loss: int
    eta: float
    shrink: float            # eta * l2
    eta_b: float
    mu_b: np.ndarray         # (K,) the intercepts' loss gradient at the snapshot


class SoftmaxSVRGModel(NamedTuple):
    """A softmax SVRG iterate: ``W = P (psi - c R)``, flat d x K."""

    psi: np.ndarray
    c: np.ndarray
    b: np.ndarray            # (K,) intercepts
    scalars: np.ndarray      # float64 at P, R


class SVRGScratch(NamedTuple):
    """Scratch of a softmax SVRG step: scores, derivatives, and x_i . c per class."""

    p: np.ndarray
    g: np.ndarray
    xc: np.ndarray


class SharedWeights(NamedTuple):
    """The shared iterate of asynchronous SVRG's workers."""

    w: np.ndarray            # (d,) float64
    b: np.ndarray            # (1,) float64


class SVRGReplica(NamedTuple):
    """An asynchronous SVRG worker's replica and the weights it last loaded."""

    model: SVRGModel
    base: np.ndarray         # (d,) float64
    base_b: np.ndarray       # (1,) float64


class SVRGHeadReplica(NamedTuple):
    """An asynchronous SVRG worker's private head (:mod:`.svrg_async`): ``psi`` of the
    features labeled ``0 .. H-1``; the tail is written in place into the shared model."""

    h: np.ndarray            # (H,) float64: the worker's psi of the head
    base: np.ndarray         # (H,) float64: the head as last loaded
    b: np.ndarray            # (1,) float64: the worker's intercept
    base_b: np.ndarray       # (1,) float64: the intercept as last loaded
    scalars: np.ndarray      # float64 at VIEW_P, VIEW_R, REF_P, REF_R


class DualData(NamedTuple):
    """The box-constrained hinge dual (:mod:`.dual_cd`)."""

    X: np.ndarray
    indices: object
    indptr: object
    y: np.ndarray            # +-1
    upper: np.ndarray        # the box: C s_i
    qii: np.ndarray          # ||x_i||^2


class DualState(NamedTuple):
    beta: np.ndarray         # the dual variables
    v: np.ndarray            # sum_i beta_i y_i x_i
    index: np.ndarray        # int64: the coordinates to visit
    rng: np.ndarray          # uint64, one xorshift64* state per part
    bounds: np.ndarray       # int64: part p visits index[bounds[p]:bounds[p + 1]]


class DualConfig(NamedTuple):
    margin: np.ndarray       # m_i = 1 - y_i b
    kappa: float             # l1 / l2
