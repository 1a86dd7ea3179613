/// One layer of a Keras model as a weights file stores it: its name, its class and its
/// variables in Keras' own order. What `KerasWeightsWriter` writes; a layer without variables
/// (Activation, Add, ...) is listed too, because both layouts record every layer.
public struct KerasLayerRecord: Equatable, Sendable {
    /// The Keras classes keras.applications' EfficientNets are built from.
    public enum LayerClass: String, Sendable {
        case inputLayer = "InputLayer", rescaling = "Rescaling", normalization = "Normalization"
        case zeroPadding2D = "ZeroPadding2D", conv2D = "Conv2D", depthwiseConv2D = "DepthwiseConv2D"
        case batchNormalization = "BatchNormalization", activation = "Activation"
        case globalAveragePooling2D = "GlobalAveragePooling2D", reshape = "Reshape", multiply = "Multiply"
        case dropout = "Dropout", add = "Add", dense = "Dense"

        /// Keras' `to_snake_case` of the class name: the group name in a Keras 3 `.weights.h5`
        /// (before its per-class counter).
        public var snakeName: String {
            switch self {
            case .inputLayer: return "input_layer"
            case .rescaling: return "rescaling"
            case .normalization: return "normalization"
            case .zeroPadding2D: return "zero_padding2d"
            case .conv2D: return "conv2d"
            case .depthwiseConv2D: return "depthwise_conv2d"
            case .batchNormalization: return "batch_normalization"
            case .activation: return "activation"
            case .globalAveragePooling2D: return "global_average_pooling2d"
            case .reshape: return "reshape"
            case .multiply: return "multiply"
            case .dropout: return "dropout"
            case .add: return "add"
            case .dense: return "dense"
            }
        }
    }

    /// One variable: its Keras 2 name ("kernel", "depthwise_kernel", "moving_mean", "count"),
    /// its shape in Keras' layout (HWIO kernels, (in, out) Dense), and its values in C order.
    public struct Variable: Equatable, Sendable {
        public enum Values: Equatable, Sendable {
            case float32([Float])
            case int64([Int64])
        }
        public var name: String
        public var shape: [Int]
        public var values: Values

        public init(name: String, shape: [Int], values: Values) {
            self.name = name; self.shape = shape; self.values = values
        }
    }

    public var name: String
    public var layerClass: LayerClass
    public var variables: [Variable]

    public init(name: String, layerClass: LayerClass, variables: [Variable] = []) {
        self.name = name; self.layerClass = layerClass; self.variables = variables
    }
}
