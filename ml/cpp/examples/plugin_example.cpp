// plugin_example.cpp: how a plugin loads the mltrain models, checks them against their golden vectors and feeds
// them inputs computed by the front-end headers (ml/cpp/plugin.md, shipped as docs/plugin.md in the bundle).
//
// Without RTNeural (a small dense + LSTM evaluator stands in, so the example builds and runs anywhere):
//   g++ -std=c++17 -O2 -I include examples/plugin_example.cpp -o plugin_example && ./plugin_example models
// With RTNeural (the plugin's real backend; nlohmann::json comes with RTNeural):
//   g++ -std=c++17 -O2 -DMLTRAIN_EXAMPLE_RTNEURAL -I include -I <RTNeural> -I <RTNeural>/modules/json ...
// Exit status 0 when every model in the folder matches its golden vectors, 1 otherwise.

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mltrain/chords.h"
#include "mltrain/emotion.h"
#include "mltrain/harmony.h"

#ifdef MLTRAIN_EXAMPLE_RTNEURAL
#include <RTNeural/RTNeural.h>
#endif

namespace example {

// The plugin's view of one network: whatever runs it (RTNeural in a plugin) sits behind these four calls.
class Model {
  public:
    virtual ~Model() = default;
    virtual int inputSize() const = 0;
    virtual int outputSize() const = 0;
    virtual void reset() = 0;                                 // clear recurrent state (optional: see plugin.md)
    virtual const float* forward(const float* input) = 0;     // one call = one inference, outputSize() floats
};

#ifdef MLTRAIN_EXAMPLE_RTNEURAL
// The dynamic RTNeural model, exactly as a plugin loads it.
class RTNeuralModel final : public Model {
  public:
    explicit RTNeuralModel(const std::string& path) {
        std::ifstream stream(path);
        model_ = RTNeural::json_parser::parseJson<float>(stream);
        if (!model_) throw std::runtime_error("RTNeural could not load " + path);
    }
    int inputSize() const override { return model_->getInSize(); }
    int outputSize() const override { return model_->getOutSize(); }
    void reset() override { model_->reset(); }
    const float* forward(const float* input) override {
        model_->forward(input);
        return model_->getOutputs();
    }

  private:
    std::unique_ptr<RTNeural::Model<float>> model_;
};
#endif

// --- a minimal JSON reader (enough for mltrain's model and golden files; a plugin uses nlohmann::json) ---------
struct Json {
    enum class Kind { Null, Bool, Number, String, Array, Object } kind = Kind::Null;
    double number = 0.0;
    std::string text;
    std::vector<double> numbers;  // an array whose items are all numbers
    std::vector<Json> items;      // any other array
    std::vector<std::pair<std::string, Json>> members;

    const Json& at(const std::string& key) const {
        for (const auto& member : members)
            if (member.first == key) return member.second;
        throw std::runtime_error("missing key " + key);
    }
    bool has(const std::string& key) const {
        return std::any_of(members.begin(), members.end(), [&](const auto& m) { return m.first == key; });
    }
};

class JsonReader {
  public:
    explicit JsonReader(std::string text) : text_(std::move(text)) {}
    Json read() {
        Json value = next();
        skip();
        if (pos_ != text_.size()) fail("trailing characters");
        return value;
    }

  private:
    [[noreturn]] void fail(const char* what) const {
        throw std::runtime_error(std::string("JSON: ") + what + " at byte " + std::to_string(pos_));
    }
    void skip() {
        while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    }
    bool eat(char c) {
        skip();
        if (pos_ < text_.size() && text_[pos_] == c) return ++pos_, true;
        return false;
    }
    std::string string() {
        if (!eat('"')) fail("expected a string");
        std::string out;
        while (pos_ < text_.size() && text_[pos_] != '"') {
            if (text_[pos_] == '\\') ++pos_;  // mltrain's files hold no escapes that matter here
            out += text_[pos_++];
        }
        if (!eat('"')) fail("unterminated string");
        return out;
    }
    Json next() {
        skip();
        Json value;
        if (pos_ >= text_.size()) fail("unexpected end");
        const char c = text_[pos_];
        if (c == '{') {
            ++pos_;
            value.kind = Json::Kind::Object;
            if (eat('}')) return value;
            do {
                std::string key = string();
                if (!eat(':')) fail("expected ':'");
                value.members.emplace_back(std::move(key), next());
            } while (eat(','));
            if (!eat('}')) fail("expected '}'");
        } else if (c == '[') {
            ++pos_;
            value.kind = Json::Kind::Array;
            if (eat(']')) return value;
            do {
                Json item = next();
                if (item.kind == Json::Kind::Number && value.items.empty()) {
                    value.numbers.push_back(item.number);
                } else {
                    for (double n : value.numbers) value.items.push_back(number(n));
                    value.numbers.clear();
                    value.items.push_back(std::move(item));
                }
            } while (eat(','));
            if (!eat(']')) fail("expected ']'");
        } else if (c == '"') {
            value.kind = Json::Kind::String;
            value.text = string();
        } else if (text_.compare(pos_, 4, "null") == 0) {
            pos_ += 4;
        } else if (text_.compare(pos_, 4, "true") == 0 || text_.compare(pos_, 5, "false") == 0) {
            value.kind = Json::Kind::Bool;
            value.number = text_[pos_] == 't' ? 1.0 : 0.0;
            pos_ += text_[pos_] == 't' ? 4 : 5;
        } else {
            char* end = nullptr;
            value = number(std::strtod(text_.c_str() + pos_, &end));
            if (end == text_.c_str() + pos_) fail("unexpected character");
            pos_ = static_cast<std::size_t>(end - text_.c_str());
        }
        return value;
    }
    static Json number(double n) {
        Json value;
        value.kind = Json::Kind::Number;
        value.number = n;
        return value;
    }

    std::string text_;
    std::size_t pos_ = 0;
};

inline Json read_json(const std::string& path) {
    std::ifstream stream(path, std::ios::binary);
    if (!stream) throw std::runtime_error("cannot open " + path);
    std::stringstream buffer;
    buffer << stream.rdbuf();
    return JsonReader(buffer.str()).read();
}

// Rows of a 2-D array as float32 (a [n][m] JSON array of numbers).
inline std::vector<std::vector<float>> rows(const Json& array) {
    std::vector<std::vector<float>> out;
    for (const Json& row : array.items) out.emplace_back(row.numbers.begin(), row.numbers.end());
    if (array.items.empty() && !array.numbers.empty()) out.emplace_back(array.numbers.begin(), array.numbers.end());
    return out;
}

// --- the stand-in backend: RTNeural's dense, LSTM and activation layers in float32, read from the model JSON ------
class ReferenceModel final : public Model {
  public:
    explicit ReferenceModel(const std::string& path) {
        const Json doc = read_json(path);
        int size = static_cast<int>(doc.at("in_shape").items.back().number);
        in_size_ = size;
        for (const Json& spec : doc.at("layers").items) {
            Layer layer;
            layer.type = spec.at("type").text;
            layer.activation = spec.has("activation") ? spec.at("activation").text : "";
            layer.in = size;
            layer.out = static_cast<int>(spec.at("shape").items.back().number);
            const Json& weights = spec.at("weights");
            if (layer.type == "dense") {
                layer.w = flat(weights.items.at(0));
                if (weights.items.size() > 1) layer.b.assign(weights.items[1].numbers.begin(), weights.items[1].numbers.end());
            } else if (layer.type == "lstm") {
                layer.w = flat(weights.items.at(0));
                layer.u = flat(weights.items.at(1));
                layer.b.assign(weights.items.at(2).numbers.begin(), weights.items.at(2).numbers.end());
            } else if (layer.type != "activation") {
                throw std::runtime_error("the stand-in backend has no " + layer.type + " layer; use RTNeural");
            }
            layer.b.resize(static_cast<std::size_t>(layer.type == "lstm" ? 4 * layer.out : layer.out), 0.0f);
            layer.h.assign(static_cast<std::size_t>(layer.out), 0.0f);
            layer.c.assign(static_cast<std::size_t>(layer.out), 0.0f);
            layers_.push_back(std::move(layer));
            size = layers_.back().out;
        }
        out_size_ = size;
    }
    int inputSize() const override { return in_size_; }
    int outputSize() const override { return out_size_; }
    void reset() override {
        for (Layer& layer : layers_) {
            std::fill(layer.h.begin(), layer.h.end(), 0.0f);
            std::fill(layer.c.begin(), layer.c.end(), 0.0f);
        }
    }
    const float* forward(const float* input) override {
        x_.assign(input, input + in_size_);
        for (Layer& layer : layers_) {
            if (layer.type == "dense") dense(layer);
            if (layer.type == "lstm") lstm(layer);
            activate(layer.activation, x_);
        }
        return x_.data();
    }

  private:
    struct Layer {
        std::string type, activation;
        int in = 0, out = 0;
        std::vector<float> w, u, b, h, c;  // kernels row-major [in][out]; h, c: LSTM state
    };
    static std::vector<float> flat(const Json& matrix) {
        std::vector<float> out;
        for (const Json& row : matrix.items) out.insert(out.end(), row.numbers.begin(), row.numbers.end());
        return out;
    }
    static float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }
    static void activate(const std::string& name, std::vector<float>& v) {
        if (name == "tanh") for (float& e : v) e = std::tanh(e);
        if (name == "relu") for (float& e : v) e = std::max(e, 0.0f);
        if (name == "sigmoid") for (float& e : v) e = sigmoid(e);
        if (name == "elu") for (float& e : v) e = e > 0.0f ? e : std::exp(e) - 1.0f;
        if (name == "softmax") {
            const float top = *std::max_element(v.begin(), v.end());
            float sum = 0.0f;
            for (float& e : v) sum += (e = std::exp(e - top));
            for (float& e : v) e /= sum;
        }
    }
    static std::vector<float> affine(const std::vector<float>& x, const std::vector<float>& w, std::vector<float> y) {
        const std::size_t n = y.size();
        for (std::size_t i = 0; i < x.size(); ++i)
            for (std::size_t j = 0; j < n; ++j) y[j] += x[i] * w[i * n + j];
        return y;
    }
    void dense(const Layer& layer) { x_ = affine(x_, layer.w, layer.b); }
    void lstm(Layer& layer) {  // gates i, f, g (RTNeural's c), o; state kept until reset(), as in RTNeural
        const std::size_t n = static_cast<std::size_t>(layer.out);
        const std::vector<float> z = affine(layer.h, layer.u, affine(x_, layer.w, layer.b));
        for (std::size_t k = 0; k < n; ++k) {
            layer.c[k] = sigmoid(z[n + k]) * layer.c[k] + sigmoid(z[k]) * std::tanh(z[2 * n + k]);
            layer.h[k] = sigmoid(z[3 * n + k]) * std::tanh(layer.c[k]);
        }
        x_ = layer.h;
    }

    int in_size_ = 0, out_size_ = 0;
    std::vector<Layer> layers_;
    std::vector<float> x_;
};

inline std::unique_ptr<Model> load_model(const std::string& path) {
#ifdef MLTRAIN_EXAMPLE_RTNEURAL
    return std::make_unique<RTNeuralModel>(path);
#else
    return std::make_unique<ReferenceModel>(path);
#endif
}

// --- the load-time check: run the golden inputs, compare with the golden outputs (MODEL.io.json) ---------------
struct GoldenResult {
    int count = 0;
    float max_abs_error = 0.0f;
    float tolerance = 0.0f;
    bool ok() const { return count > 0 && max_abs_error <= tolerance; }
};

inline GoldenResult check_golden(Model& model, const std::string& golden_path) {
    const Json golden = read_json(golden_path);
    const auto inputs = rows(golden.at("inputs"));
    const auto outputs = rows(golden.at("outputs"));
    GoldenResult result;
    result.tolerance = static_cast<float>(golden.at("tolerance").number);
    for (std::size_t r = 0; r < inputs.size(); ++r) {
        if (static_cast<int>(inputs[r].size()) != model.inputSize() ||
            static_cast<int>(outputs[r].size()) != model.outputSize())
            throw std::runtime_error(golden_path + ": sizes differ from the model's");
        model.reset();  // each golden row is one call from a fresh state (state-independent models do not care)
        const float* y = model.forward(inputs[r].data());
        for (int k = 0; k < model.outputSize(); ++k)
            result.max_abs_error = std::max(result.max_abs_error, std::fabs(y[k] - outputs[r][static_cast<std::size_t>(k)]));
        ++result.count;
    }
    return result;
}

}  // namespace example

int main(int argc, char** argv) {
    const std::string dir = argc > 1 ? argv[1] : "models";
    const char* keys[] = {"emotion_recognizer", "melody_transformer", "harmony_predictor", "dynamics_engine",
                          "groove_predictor"};
    int checked = 0, failed = 0;
    std::unique_ptr<example::Model> harmony, groove;
    for (const char* key : keys) {
        const std::string base = dir + "/" + key;
        if (!std::ifstream(base + ".json")) continue;
        try {
            std::unique_ptr<example::Model> model = example::load_model(base + ".json");
            const example::GoldenResult r = example::check_golden(*model, base + ".io.json");
            std::printf("%s: %d golden vectors, max abs error %.3g (tolerance %.3g) %s\n", key, r.count,
                        static_cast<double>(r.max_abs_error), static_cast<double>(r.tolerance), r.ok() ? "ok" : "FAIL");
            ++checked;
            if (!r.ok()) { ++failed; continue; }  // never run a model that misses its golden outputs
            if (std::string(key) == "harmony_predictor") harmony = std::move(model);
            if (std::string(key) == "groove_predictor") groove = std::move(model);
        } catch (const std::exception& error) {
            std::printf("%s: FAIL %s\n", key, error.what());
            ++checked, ++failed;
        }
    }
    if (checked == 0) {
        std::printf("no model JSON in %s\n", dir.c_str());
        return 1;
    }
    // Feeding: the front-end headers compute the exact vectors training used (docs/models.md).
    const double valence = 0.4, arousal = -0.2;  // e.g. from the plugin's controls or emotion_recognizer
    if (groove) {
        const mltrain::Embedding x = mltrain::emotion_encode(valence, arousal);
        const float* y = groove->forward(x.data());
        std::printf("groove_predictor(emotion %.1f, %.1f): first output %.4f\n", valence, arousal,
                    static_cast<double>(y[0]));
    }
    if (harmony) {
        mltrain::ChordHistory history;
        for (const char* symbol : {"Dm7", "G7", "Cmaj7"}) history.push(mltrain::parse_chord_or_no_chord(symbol));
        const mltrain::HarmonyInput x = mltrain::harmony_input(valence, arousal, history.context());
        const float* p = harmony->forward(x.data());
        const int best = static_cast<int>(std::max_element(p, p + harmony->outputSize()) - p);
        std::printf("harmony_predictor(Dm7 G7 Cmaj7): most likely next chord %s (p %.3f)\n",
                    mltrain::chord_name(best).c_str(), static_cast<double>(p[best]));
    }
    return failed == 0 ? 0 : 1;
}
