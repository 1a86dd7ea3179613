/// How a fine-tuned model's head was made, stored as JSON under `effw.finetune` next to the
/// base model's own provenance (`effw.provenance`, kept as the base had it).
public struct FineTuneRecord: Codable, Equatable, Sendable {
    public struct Data: Codable, Equatable, Sendable {
        /// SHA-256 over the training images' relative paths, classes and bytes (`ImageFolder.digest`).
        public var sha256: String
        public var trainImages: Int
        public var validationImages: Int
        /// "split 0.2" or "val/ folder".
        public var validation: String
    }

    public struct Hyperparameters: Codable, Equatable, Sendable {
        public var head: String
        public var optimizer: String
        public var learningRate: Double
        public var epochs: Int
        public var batchSize: Int
        public var momentum: Double?
        public var dampening: Double?
        public var nesterov: Bool?
        public var weightDecay: Double
        public var labelSmoothing: Double
        public var dropout: Double?
        public var augment: Bool
        public var seed: UInt64
    }

    /// The base model: its config name and file name.
    public var baseModel: String
    public var baseFile: String
    public var data: Data
    public var hyperparameters: Hyperparameters
    public var finalTrainLoss: Double
    public var finalTrainAccuracy: Double
    /// nil without validation images.
    public var finalValidationAccuracy: Double?
    public var tool: String
}
