"""Noise processes of one field each, and the joint process over named fields (t = 0 prior, t = 1 data)."""
from morphogen.processes.base import Corrupted, FieldState, Process, ProcessError
from morphogen.processes.bernoulli import BernoulliDiffusion
from morphogen.processes.bfn_continuous import ContinuousBFN
from morphogen.processes.bfn_discrete import DiscreteBFN
from morphogen.processes.bfn_periodic import PeriodicBFN
from morphogen.processes.gaussian import FlowMatching, GaussianProcess
from morphogen.processes.joint import JointProcess
from morphogen.processes.masked import MaskedDiffusion
from morphogen.processes.uniform import UniformDiscrete
from morphogen.processes.wrapped import TorusFlowMatching, WrappedGaussian
from morphogen.processes.zero_com import ZeroCoMGaussian

__all__ = [
    "BernoulliDiffusion", "ContinuousBFN", "Corrupted", "DiscreteBFN", "FieldState", "FlowMatching",
    "GaussianProcess", "JointProcess", "MaskedDiffusion", "PeriodicBFN", "Process", "ProcessError", "TorusFlowMatching", "UniformDiscrete",
    "WrappedGaussian", "ZeroCoMGaussian",
]
