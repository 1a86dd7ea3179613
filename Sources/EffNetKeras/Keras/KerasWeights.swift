import EffNet

/// How a Keras file lays out its weights.
public enum KerasLayout: String, Sendable, Codable {
    /// `model.save("x.h5")` (Keras 2, or Keras 3's legacy writer): root attributes
    /// `model_config`, `keras_version`, `backend`; weights under `/model_weights`.
    case fullModelH5 = "keras-h5-model"
    /// `model.save_weights("x.h5")`: the same weight layout at the root, no model_config.
    case weightsH5 = "keras-h5-weights"
    /// Keras 3 `.weights.h5` (alone or inside a `.keras` archive): `layers/<class>[_n]/vars/<i>`.
    case weightsV3 = "keras3-weights-h5"
}

/// One stored variable.
public struct KerasWeight: @unchecked Sendable {
    /// "<layer>/<variable>", unique within the file: "block1a_dwconv/depthwise_kernel" (tf.keras
    /// 2, ":0" removed), "block1a_dwconv/kernel" (Keras 3). A layer whose weight names do not
    /// start with its own name (a nested model) keeps them after its name:
    /// "efficientnetb0/stem_conv/kernel". Keras 3 `.weights.h5` files name the layer from the
    /// `vars` group's `name` attribute, else from the model config, else from the class-name
    /// group ("conv2d_3/kernel"); the variable from the class's known order (see
    /// `KerasV3Layout.variableNames`), else its index ("conv2d_3/0").
    public var name: String
    /// The Keras layer name (or the class-name group when nothing better is known).
    public var layer: String
    /// The variable name: "kernel", "gamma", "moving_variance", "0", ...
    public var variable: String
    /// The layer's class in Keras' snake_case ("conv2d", "batch_normalization") when the file
    /// tells it (Keras 3 group names, or the model config).
    public var layerClass: String?
    /// Where the dataset lives in the HDF5 file.
    public var location: String
    public var tensor: RawTensor

    public init(name: String, layer: String, variable: String, layerClass: String?, location: String, tensor: RawTensor) {
        self.name = name; self.layer = layer; self.variable = variable
        self.layerClass = layerClass; self.location = location; self.tensor = tensor
    }
}

/// Everything a Keras weights file holds that the conversion needs.
public struct KerasWeightsFile: @unchecked Sendable {
    public var path: String
    public var layout: KerasLayout
    public var kerasVersion: String?
    public var backend: String?
    /// The model's JSON config: the `model_config` attribute of a full-model .h5, or a .keras
    /// archive's `config.json`. Nil for weights-only files.
    public var modelConfig: String?
    /// Layer names in model order when the file records it (legacy `layer_names`, or the
    /// config), else in the order found.
    public var layerNames: [String]
    /// Variables in model order (legacy files, and v3 files with a config), else grouped by
    /// class in creation order (`conv2d`, `conv2d_1`, ...: v3 files without a config).
    public var weights: [KerasWeight]
    /// Entries deliberately not read (optimizer state), with the reason.
    public var skipped: [(name: String, reason: String)]

    public init(path: String, layout: KerasLayout, kerasVersion: String? = nil, backend: String? = nil,
                modelConfig: String? = nil, layerNames: [String] = [], weights: [KerasWeight] = [],
                skipped: [(name: String, reason: String)] = []) {
        self.path = path; self.layout = layout; self.kerasVersion = kerasVersion; self.backend = backend
        self.modelConfig = modelConfig; self.layerNames = layerNames; self.weights = weights; self.skipped = skipped
    }

    public func weight(_ name: String) -> KerasWeight? { weights.first { $0.name == name } }
}
