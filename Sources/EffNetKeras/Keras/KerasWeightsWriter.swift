/// Writes a Keras model's layers as the two weights-only layouts `KerasWeightsReader` reads,
/// byte images built in memory (`HDF5Writer`), for the caller to check and commit.
///
/// Keras 3 `.weights.h5` (what `model.save_weights("x.weights.h5")` writes, Keras 3.15):
///
///     /vars                       @name = model name, no datasets (a functional model's own)
///     /layers/<class>[_n]/vars    @name = layer name; datasets "0", "1", ... in variable order
///
/// Groups are named by the class in snake_case with a counter per class in model order
/// (`conv2d`, `conv2d_1`, ...), which is how `load_weights` finds them; every layer gets its
/// group, with or without variables. The root carries no attributes.
///
/// Keras 2 / tf_keras `save_weights("x.h5")`:
///
///     /            @backend, @keras_version, @layer_names (every layer, model order)
///     /<layer>     @weight_names ("<layer>/kernel:0", ...; an empty float64 array when none)
///     /<layer>/<layer>/kernel:0   the datasets
///
/// String lists are fixed-length NUL-padded arrays, as h5py stores numpy byte strings; lists
/// that would pass HDF5's 64 KB object-header limit are split into `<name>0`, `<name>1`, ...,
/// as Keras splits them (`KerasAttributes` reads them back).
public enum KerasWeightsWriter {
    /// What the Keras 2 layout records as its writer (a tf_keras release this layout matches).
    public static let keras2Version = "2.15.0"

    /// - Throws: `HDF5Error` from libhdf5 (unavailable, or failing to build the file).
    public static func keras3WeightsH5(modelName: String, layers: [KerasLayerRecord], fileName: String) throws -> [UInt8] {
        let file = try HDF5Writer(name: fileName)
        try file.group("/vars")
        try file.attribute("name", on: "/vars", string: modelName)
        var counters: [String: Int] = [:]
        for layer in layers {
            let cls = layer.layerClass.snakeName
            let n = counters[cls, default: 0]
            counters[cls] = n + 1
            let vars = "/layers/\(n == 0 ? cls : "\(cls)_\(n)")/vars"
            try file.group(vars)
            try file.attribute("name", on: vars, string: layer.name)
            for (i, v) in layer.variables.enumerated() { try write(v, at: "\(vars)/\(i)", to: file) }
        }
        return try file.image()
    }

    /// - Throws: `HDF5Error` from libhdf5.
    public static func keras2WeightsH5(layers: [KerasLayerRecord], fileName: String, backend: String = "tensorflow",
                                       kerasVersion: String = keras2Version) throws -> [UInt8] {
        let file = try HDF5Writer(name: fileName)
        try file.attribute("backend", on: "/", string: backend)
        try file.attribute("keras_version", on: "/", string: kerasVersion)
        try stringList("layer_names", on: "/", layers.map(\.name), file)
        for layer in layers {
            let group = "/\(layer.name)"
            try file.group(group)
            let names = layer.variables.map { "\(layer.name)/\($0.name):0" }
            try stringList("weight_names", on: group, names, file)
            for (v, name) in zip(layer.variables, names) { try write(v, at: "\(group)/\(name)", to: file) }
        }
        return try file.image()
    }

    private static func write(_ v: KerasLayerRecord.Variable, at path: String, to file: HDF5Writer) throws {
        switch v.values {
        case let .float32(x): try file.dataset(path, float32: x, shape: v.shape)
        case let .int64(x): try file.dataset(path, int64: x, shape: v.shape)
        }
    }

    /// Keras' `save_attributes_to_hdf5_group`: one attribute, or chunks under 64 KB each.
    private static func stringList(_ name: String, on path: String, _ list: [String], _ file: HDF5Writer) throws {
        let limit = 64 * 1024 - 512  // room for the header's own fields
        let width = list.map(\.utf8.count).max() ?? 0
        guard width * list.count > limit, width > 0 else { return try file.attribute(name, on: path, strings: list) }
        let perChunk = max(1, limit / width)
        for (k, start) in stride(from: 0, to: list.count, by: perChunk).enumerated() {
            try file.attribute("\(name)\(k)", on: path, strings: Array(list[start ..< min(list.count, start + perChunk)]))
        }
    }
}
