// Minimal stand-in for RTNeural's headers, for compile checks of generated ModelT headers only (no maths).
// Template names and parameter kinds follow RTNeural's ModelT.h, dense/dense.h, lstm/lstm.h, gru/gru.h and
// activation/activation.h; each layer exposes in_size/out_size and ModelT checks that the chain connects.
#pragma once

namespace RTNeural
{
struct DefaultMathsProvider
{
};

enum class SampleRateCorrectionMode
{
    None,
    NoInterp,
    LinInterp
};

template <typename T, int in_sizet, int out_sizet, bool has_bias = true>
class DenseT
{
public:
    static constexpr int in_size = in_sizet;
    static constexpr int out_size = out_sizet;
};

template <typename T, int in_sizet, int out_sizet, SampleRateCorrectionMode sampleRateCorr = SampleRateCorrectionMode::None,
    typename MathsProvider = DefaultMathsProvider>
class LSTMLayerT
{
public:
    static constexpr int in_size = in_sizet;
    static constexpr int out_size = out_sizet;
};

template <typename T, int in_sizet, int out_sizet, SampleRateCorrectionMode sampleRateCorr = SampleRateCorrectionMode::None,
    typename MathsProvider = DefaultMathsProvider>
class GRULayerT
{
public:
    static constexpr int in_size = in_sizet;
    static constexpr int out_size = out_sizet;
};

template <typename T, int size>
class ActivationStub
{
public:
    static constexpr int in_size = size;
    static constexpr int out_size = size;
};

template <typename T, int size, typename MathsProvider = DefaultMathsProvider>
class TanhActivationT : public ActivationStub<T, size>
{
};

template <typename T, int size>
class ReLuActivationT : public ActivationStub<T, size>
{
};

template <typename T, int size, typename MathsProvider = DefaultMathsProvider>
class SigmoidActivationT : public ActivationStub<T, size>
{
};

template <typename T, int size, typename MathsProvider = DefaultMathsProvider>
class SoftmaxActivationT : public ActivationStub<T, size>
{
};

template <typename T, int size, int AlphaNumerator = 1, int AlphaDenominator = 1, typename MathsProvider = DefaultMathsProvider>
class ELuActivationT : public ActivationStub<T, size>
{
};

template <int in_size, typename... Layers>
struct Chain;

template <int in_size>
struct Chain<in_size>
{
    static constexpr int out_size = in_size;
};

template <int in_size, typename First, typename... Rest>
struct Chain<in_size, First, Rest...>
{
    static_assert(First::in_size == in_size, "a layer's input size differs from the previous layer's output");
    static constexpr int out_size = Chain<First::out_size, Rest...>::out_size;
};

template <typename T, int in_size, int out_size, typename... Layers>
class ModelT
{
    static_assert(sizeof...(Layers) > 0, "a model needs layers");
    static_assert(Chain<in_size, Layers...>::out_size == out_size, "the last layer's size differs from out_size");

public:
    static constexpr int input_size = in_size;
    static constexpr int output_size = out_size;
    void reset() { }
};
} // namespace RTNeural
