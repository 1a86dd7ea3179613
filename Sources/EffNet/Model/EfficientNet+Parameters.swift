extension EfficientNet {
    /// Every canonical parameter name and shape a config implies, in the order the module tree
    /// visits them and .effw files store them. Computed from the config alone, without
    /// allocating any weights (the converter's streaming path checks shapes with it).
    public static func parameterShapes(for c: EfficientNetConfig) -> [(name: String, shape: [Int])] {
        var r: [(name: String, shape: [Int])] = []
        func conv(_ p: String, out: Int, inPerGroup: Int, k: Int, bias: Bool) {
            r.append(("\(p).weight", [out, inPerGroup, k, k]))
            if bias { r.append(("\(p).bias", [out])) }
        }
        func convNorm(_ p: String, out: Int, inPerGroup: Int, k: Int) {
            conv("\(p).conv", out: out, inPerGroup: inPerGroup, k: k, bias: c.batchNormFolded)
            if !c.batchNormFolded {
                for s in ["weight", "bias", "running_mean", "running_var"] { r.append(("\(p).bn.\(s)", [out])) }
            }
        }
        convNorm("stem", out: c.stem.outChannels, inPerGroup: c.inputChannels, k: c.stem.kernel)
        for (i, b) in c.blocks.enumerated() {
            let p = "blocks.\(i)"
            if b.hasExpansion { convNorm("\(p).expand", out: b.expandedChannels, inPerGroup: b.inChannels, k: 1) }
            convNorm("\(p).depthwise", out: b.expandedChannels, inPerGroup: 1, k: b.kernel)
            if let se = b.seChannels {
                conv("\(p).se.reduce", out: se, inPerGroup: b.expandedChannels, k: 1, bias: true)
                conv("\(p).se.expand", out: b.expandedChannels, inPerGroup: se, k: 1, bias: true)
            }
            convNorm("\(p).project", out: b.outChannels, inPerGroup: b.expandedChannels, k: 1)
        }
        convNorm("head", out: c.headChannels, inPerGroup: c.lastBlockChannels, k: 1)
        r.append(("classifier.weight", [c.numClasses, c.headChannels]))
        r.append(("classifier.bias", [c.numClasses]))
        return r
    }
}
