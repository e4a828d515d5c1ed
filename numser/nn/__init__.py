"""The neural core: layers with hand-written backward passes, Numba kernels, Adam, gradient checks.

Every layer follows :class:`numser.nn.layer.Layer`: ``forward(x, train)`` caches what
``backward(dy)`` needs; ``backward`` returns dx and fills ``grads`` beside ``params``.
"""
from numser.nn.activations import ReLU, Sigmoid, Tanh
from numser.nn.adam import Adam
from numser.nn.conv import Conv3D
from numser.nn.dense import Dense
from numser.nn.dropout import Dropout
from numser.nn.gradcheck import check_layer, check_model, numerical_gradient, relative_error
from numser.nn.layer import Layer, backward, forward, n_params, parameters
from numser.nn.loss import softmax, softmax_cross_entropy
from numser.nn.lstm import LSTM
from numser.nn.pool import MaxPool3D
from numser.nn.sequence import FrameContext, PerStep
from numser.nn.shape import Flatten, Reshape, Transpose

__all__ = ["Layer", "forward", "backward", "parameters", "n_params", "Conv3D", "MaxPool3D",
           "Dense", "ReLU", "Sigmoid", "Tanh", "Dropout", "Flatten", "Reshape", "Transpose",
           "LSTM", "PerStep", "FrameContext", "Adam", "softmax", "softmax_cross_entropy", "check_layer",
           "check_model", "numerical_gradient", "relative_error"]
