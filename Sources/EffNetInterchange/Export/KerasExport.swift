import EffNet
import EffNetKeras

/// Writes an `EfficientNet` as the weights of keras.applications' own model, so that
/// `keras.applications.EfficientNetB0(weights=None).load_weights(path)` (or the V2 and
/// custom-scaling equivalents) reproduces it, taking 0-255 pixels as Keras models do.
///
/// Only faithful exports are written: `check(_:)` compares the model's conventions with what
/// keras.applications bakes in (TF "SAME" padding through ZeroPadding2D / "same", BN epsilon
/// 1e-3, swish, SE widths of int(block_in / 4), residuals on every stride-1 block of equal
/// widths, one Dense classifier, the exact block layout of a keras builder) and throws a
/// `KerasExportError` naming the convention and the targets that can hold the model otherwise.
///
/// Names come from `KerasNames` (the reader's), layouts from `LeafConvention` run backwards:
/// OIHW -> HWIO, depthwise (C, 1, k, k) -> (k, k, C, 1), linear (out, in) -> (in, out). The input
/// convention travels in keras' own Normalization layer (EfficientNet V1: mean, variance = std^2,
/// count); keras' EfficientNetV2 keeps its preprocessing constants in the layer config, so a V2
/// model is written only when its input convention is the one the keras variant applies.
///
/// The bytes are built in memory (libhdf5's core driver); the caller reads them back, verifies
/// and commits them (`AtomicFileWriter`).
public enum KerasExport {
    /// The file layouts.
    public enum Layout: String, Sendable, CaseIterable {
        /// Keras 3 `model.save_weights("x.weights.h5")`: `layers/<class>[_n]/vars/<i>`.
        case keras3WeightsH5
        /// Keras 2 / tf_keras `model.save_weights("x.h5")`: `layer_names`, `weight_names`,
        /// `<layer>/<layer>/kernel:0`.
        case keras2H5
    }

    /// The keras.applications model a config is written as, and what a user must know about it.
    public struct Plan: Sendable, Equatable {
        /// The Keras constructor that builds the model the file loads into:
        /// "keras.applications.EfficientNetB0(weights=None)", or keras' internal builder for a
        /// custom scaling ("keras.src.applications.efficientnet.EfficientNet(width_coefficient=0.5, ...)").
        public var kerasModel: String
        /// keras' model name ("efficientnetb0", "efficientnetv2-s").
        public var modelName: String
        /// The arguments of keras' internal builder that makes the same model
        /// (`efficientnet.EfficientNet` for V1, `efficientnet_v2.EfficientNetV2` for V2).
        public var builder: Builder
        /// The input size the Keras model must be built for (its ZeroPadding2D are fixed by it;
        /// nil when any size pads as the model does).
        public var inputSize: [Int]?
        /// The input the Keras model takes: "0-255 RGB pixels, NHWC".
        public var inputConvention: String
        /// What the export decided or assumed, one line each (reports show them).
        public var notes: [String]

        /// keras' builder arguments.
        public struct Builder: Sendable, Equatable {
            public var width: Double
            public var depth: Double
            /// V2 only: the `model_name` whose block arguments are scaled ("efficientnetv2-b0").
            public var blocksArgs: String?
        }
    }

    /// Whether `config` can be written faithfully, and as which Keras model.
    /// - Throws: `KerasExportError` naming the convention that keras.applications cannot hold.
    @discardableResult
    public static func check(_ config: EfficientNetConfig) throws -> Plan {
        try KerasTarget(config).plan
    }

    /// The model's weights as a Keras weights file in `layout`, built in memory.
    /// - Parameter name: how errors name the file (the destination path).
    /// - Throws: `KerasExportError` when the model cannot be held (see `check(_:)`),
    ///   `HDF5Error` when libhdf5 is unavailable or fails, `MappingError` for a weight whose
    ///   shape does not suit its layout change.
    public static func fileBytes(_ model: EfficientNet, layout: Layout, name: String = "keras export") throws -> [UInt8] {
        let target = try KerasTarget(model.config)
        let layers = try target.layers(model, layout: layout)
        switch layout {
        case .keras3WeightsH5:
            return try KerasWeightsWriter.keras3WeightsH5(modelName: target.modelName, layers: layers, fileName: name)
        case .keras2H5:
            return try KerasWeightsWriter.keras2WeightsH5(layers: layers, fileName: name)
        }
    }

    /// The layout a destination's name asks for: `.weights.h5` Keras 3, other `.h5` Keras 2.
    public static func layout(forPath path: String) -> Layout? {
        let lower = path.lowercased()
        if lower.hasSuffix(".weights.h5") { return .keras3WeightsH5 }
        if lower.hasSuffix(".h5") || lower.hasSuffix(".hdf5") { return .keras2H5 }
        return nil
    }
}
