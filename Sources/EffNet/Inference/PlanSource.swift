/// Where an `InferencePlan` reads the parameters it folds and packs: each slot of the declared
/// layout as float32 values in memory. Either the model's arrays or, for a model loaded from an
/// .effw file, the file's mapped bytes themselves (`EfficientNet(contentsOf:)` reads no tensor
/// into an array: the plan is built straight from the map).
struct PlanSource: @unchecked Sendable {
    let config: EfficientNetConfig
    let layout: ParameterLayout
    /// Slot i's values; valid as long as this source (it holds what owns them).
    private let floats: [UnsafeBufferPointer<Float>]
    /// The arrays or the map the pointers point into.
    private let owner: Any

    /// Views of `arrays` (the model's parameters in slot order).
    init(config: EfficientNetConfig, layout: ParameterLayout, arrays: [[Float]]) {
        self.config = config
        self.layout = layout
        // A native Swift array's elements stay where they are while the array is alive and not
        // written to; `owner` keeps these alive, and the plan is rebuilt after any write
        // (`WeightStore.version`).
        floats = arrays.map { a in a.withUnsafeBufferPointer { $0 } }
        owner = arrays
    }

    /// Views into memory that `owner` keeps alive (a mapped file), one per slot.
    init(config: EfficientNetConfig, layout: ParameterLayout, slots: [UnsafeBufferPointer<Float>], owner: AnyObject) {
        self.config = config
        self.layout = layout
        floats = slots
        self.owner = owner
    }

    /// The values in `role`, nil when this network has no such slot.
    func values(_ module: ParameterLayout.Module, _ leaf: ParameterLayout.Leaf) -> UnsafeBufferPointer<Float>? {
        layout.slotIndex(.init(module, leaf)).map { floats[$0] }
    }

    /// The values in `role` as an array (for the few small ones kept as arrays).
    func array(_ role: ParameterLayout.Role) -> [Float]? {
        layout.slotIndex(role).map { Array(floats[$0]) }
    }
}
